// A small history-API router. Routes come from the pages themselves (src/pages/index.js collects them).
//
//   navigate('/sensors?zone_id=3')         navigate(path, { replace: true })
//   <Link href="/devices/12">...</Link>    useLocation() -> { path, query (URLSearchParams) }
//   setQuery({ sort: 'name', page: null }) (null removes; replaces the history entry: filters are not pages)
import { createStore, useStore } from './store.js';

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search), hash: location.hash };
}

export const locationStore = createStore(current());
export const useLocation = () => useStore(locationStore);

const guards = new Set();
/** onLeave(fn): fn() returning false cancels in-app navigation (unsaved forms). Returns the remover. */
export function onLeave(fn) {
  guards.add(fn);
  return () => guards.delete(fn);
}

export function navigate(to, { replace = false } = {}) {
  for (const g of guards) if (g() === false) return;
  if (to === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  locationStore.set(current());
  if (!replace) window.scrollTo(0, 0);
}

export function setQuery(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), { replace: true });
}

window.addEventListener('popstate', () => locationStore.set(current()));

/** Compiles '/devices/:id' to a matcher returning {id} or null. */
export function compile(pattern) {
  const names = [];
  const re = new RegExp(
    '^' +
      pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-zA-Z_]+)/g, (_, n) => {
        names.push(n);
        return '([^/]+)';
      }) +
      '/?$',
  );
  return (path) => {
    const m = re.exec(path);
    if (!m) return null;
    const params = {};
    names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
    return params;
  };
}

/** Intercepts plain left clicks on same-origin links (<a href="/x">) anywhere in the app. */
export function installLinkHandler(root) {
  root.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target.closest && ev.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (a.pathname.startsWith('/api/') || a.dataset.native !== undefined) return;
    ev.preventDefault();
    navigate(a.pathname + a.search + a.hash);
  });
}
