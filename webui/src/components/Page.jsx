// <Page title="Sensors" actions={<Button>...</Button>} subtitle="...">...</Page>
// Sets the document title and renders the page's h1, which takes the focus after an in-app navigation so that a
// screen reader announces the new page and Tab continues from the top of its content.
import { useEffect, useRef } from 'preact/hooks';

export function Page({ title, subtitle, actions, children }) {
  const h = useRef(null);
  useEffect(() => {
    document.title = `${title} · OTWatch`;
    if (document.activeElement === document.body || document.activeElement?.closest?.('.nav')) h.current?.focus();
  }, [title]);
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <h1 ref={h} tabIndex={-1}>{title}</h1>
          {subtitle && <p class="page-subtitle">{subtitle}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** A titled block inside a page. */
export function Panel({ title, actions, children, class: cls }) {
  return (
    <section class={`panel ${cls || ''}`}>
      {(title || actions) && (
        <header class="panel-header">
          {title && <h2>{title}</h2>}
          {actions && <div class="panel-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}
