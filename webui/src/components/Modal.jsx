// <Modal title="Create site" onClose={close} footer={<>...buttons</>}>...</Modal>  (render it only while open)
// A native <dialog> opened with showModal(): the rest of the page is inert (focus cannot leave it), Escape closes,
// focus goes to the first field (or [data-autofocus]) and back to the opener when it closes.
//
// confirm({ title, message, confirmLabel, danger }) -> Promise<boolean>: the confirmation dialog, awaited:
//   if (await confirm({ title: 'Revoke sensor?', message: '...', confirmLabel: 'Revoke', danger: true })) ...
import { useEffect, useRef } from 'preact/hooks';
import { createStore, useStore } from '../lib/store.js';
import { Button } from './Button.jsx';

let seq = 0;

export function Modal({ title, onClose, footer, children, wide, onSubmit }) {
  const ref = useRef(null);
  const idRef = useRef(`modal-${++seq}`);
  useEffect(() => {
    const opener = document.activeElement;
    const d = ref.current;
    if (d.isConnected && !d.open) d.showModal();
    const first = d.querySelector('[data-autofocus]') ||
      d.querySelector('input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])') ||
      d.querySelector('.modal-footer button:not([disabled])');
    if (first) first.focus();
    return () => {
      if (opener && opener.focus && document.contains(opener)) opener.focus();
    };
  }, []);
  const onCancel = (ev) => {
    ev.preventDefault();
    onClose();
  };
  const Body = onSubmit ? 'form' : 'div';
  const bodyProps = onSubmit ? { onSubmit: (ev) => { ev.preventDefault(); onSubmit(ev); }, noValidate: true } : {};
  return (
    <dialog ref={ref} class={`modal${wide ? ' modal-wide' : ''}`} aria-labelledby={idRef.current} onCancel={onCancel}>
      <Body {...bodyProps} class="modal-inner">
        <header class="modal-header">
          <h2 id={idRef.current}>{title}</h2>
          <button type="button" class="modal-close" aria-label="Close" onClick={onClose}>×</button>
        </header>
        <div class="modal-body">{children}</div>
        {footer && <footer class="modal-footer">{footer}</footer>}
      </Body>
    </dialog>
  );
}

const pending = createStore(null);

export function confirm(opts) {
  return new Promise((resolve) => {
    const prev = pending.get();
    if (prev) prev.resolve(false);
    pending.set({ ...opts, resolve });
  });
}

export function ConfirmHost() {
  const p = useStore(pending);
  if (!p) return null;
  const done = (v) => {
    pending.set(null);
    p.resolve(v);
  };
  return (
    <Modal
      title={p.title || 'Are you sure?'}
      onClose={() => done(false)}
      footer={
        <>
          <Button onClick={() => done(false)}>Cancel</Button>
          <Button variant={p.danger ? 'danger' : 'primary'} onClick={() => done(true)} data-autofocus>
            {p.confirmLabel || 'Confirm'}
          </Button>
        </>
      }
    >
      <p>{p.message}</p>
    </Modal>
  );
}
