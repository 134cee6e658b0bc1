// The route table: every page file in this folder that exports `route` is a page; adding a page is adding a file.
//
//   export const route = { path: '/sensors', title: 'Sensors', nav: { group: 'Inventory', order: 20 } };
//   export default function SensorsPage({ params, query }) { ... }
//
// route fields: path ('/devices/:id' gives params.id), title (nav text and document title), nav (omit for pages
// reached by links only), ability (from lib/session.js ABILITIES; default 'view'), public (login only).
// Heavy libraries (the map's WebGL renderer) are imported inside the page with `await import(...)` so that
// they load only when that page opens.
import { compile } from '../lib/router.js';

export const NAV_GROUPS = ['Overview', 'Inventory', 'Alerts', 'Administration'];

const modules = import.meta.glob('./*.jsx', { eager: true });

export const routes = Object.entries(modules)
  .filter(([, m]) => m.route && m.default)
  .map(([file, m]) => ({ ability: 'view', ...m.route, file, component: m.default, match: compile(m.route.path) }));

export function matchRoute(path) {
  for (const r of routes) {
    const params = r.match(path);
    if (params) return { route: r, params };
  }
  return null;
}
