// A small popover on a native <details>: its <summary> is the button (Enter/Space toggle it, the browser announces
// expanded/collapsed), the panel floats under it. It closes on Escape (focus goes back to its button) and on a
// click outside it. For pickers and choosers (ColumnChooser, the inventory's type filter), not for dialogs: use
// Modal for those.
//
//   <Popover summary="Columns" summaryClass="btn btn-default btn-small" align="end" class="column-chooser">
//     <fieldset>...</fieldset>
//   </Popover>
//
// summaryProps go onto the <summary> (aria-labelledby, ...); align="end" aligns the panel's right edge with the
// button's (for buttons at the right of a toolbar).
import { useEffect, useRef } from 'preact/hooks';

export function Popover({ summary, summaryClass, summaryProps, align, class: cls, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const onDown = (e) => {
      const d = ref.current;
      if (d && d.open && !d.contains(e.target)) d.open = false;
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, []);
  const onKey = (e) => {
    const d = ref.current;
    if (e.key === 'Escape' && d && d.open) {
      e.preventDefault();
      e.stopPropagation();
      d.open = false;
      d.querySelector('summary').focus();
    }
  };
  const classes = ['popover', align === 'end' ? 'popover-end' : '', cls || ''].filter(Boolean).join(' ');
  return (
    <details class={classes} ref={ref} onKeyDown={onKey}>
      <summary class={summaryClass} {...summaryProps}>{summary}</summary>
      <div class="popover-panel">{children}</div>
    </details>
  );
}
