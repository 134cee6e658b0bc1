// <Button onClick={...} loading={busy} variant="primary|danger|ghost" small>Save</Button>
// A loading button is disabled and says so to screen readers (aria-busy); type defaults to "button" so that a
// button inside a form submits only when asked (type="submit").
export function Button({ variant = 'default', small, loading, disabled, type = 'button', class: cls, children, ...rest }) {
  const c = ['btn', `btn-${variant}`, small ? 'btn-small' : '', loading ? 'is-loading' : '', cls || ''].join(' ').trim();
  return (
    <button type={type} class={c} disabled={disabled || loading} aria-busy={loading ? 'true' : undefined} {...rest}>
      {loading && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}
