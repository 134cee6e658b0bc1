// Toasts: short messages about what just happened, announced by screen readers (aria-live). Errors stay until
// dismissed (role="alert"); others fade after 6 s.
//   toast.ok('Sensor created');  toast.error(err)  (an ApiError or text)
import { errorText } from '../lib/api.js';
import { createStore, useStore } from '../lib/store.js';

const toasts = createStore([]);
let next = 1;

function push(kind, message) {
  const id = next++;
  toasts.set((l) => [...l.slice(-4), { id, kind, message }]);
  if (kind !== 'error') setTimeout(() => dismiss(id), 6000);
  return id;
}
export function dismiss(id) {
  toasts.set((l) => l.filter((t) => t.id !== id));
}
export const toast = {
  ok: (m) => push('ok', m),
  info: (m) => push('info', m),
  error: (e) => push('error', typeof e === 'string' ? e : errorText(e)),
};

export function ToastRegion() {
  const list = useStore(toasts);
  return (
    <div class="toasts">
      <div aria-live="polite" class="toast-stack">
        {list.filter((t) => t.kind !== 'error').map((t) => (
          <div key={t.id} class={`toast toast-${t.kind}`}>
            <span>{t.message}</span>
            <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
          </div>
        ))}
      </div>
      <div aria-live="assertive" class="toast-stack">
        {list.filter((t) => t.kind === 'error').map((t) => (
          <div key={t.id} class="toast toast-error" role="alert">
            <span>{t.message}</span>
            <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
          </div>
        ))}
      </div>
    </div>
  );
}
