// The shell: skip link, top bar (live status, user name linking to /account, role, sign out), left navigation built from the route table
// (pages the role may not open are not listed), the main region, toasts and the confirmation dialog host.
import { NAV_GROUPS, routes } from '../pages/index.js';
import { liveStatus } from '../lib/live.js';
import { useLocation } from '../lib/router.js';
import { can, logout, useSession } from '../lib/session.js';
import { useStore } from '../lib/store.js';
import { ConfirmHost } from './Modal.jsx';
import { ToastRegion } from './Toast.jsx';

const ROLE_NAMES = { admin: 'Administrator', analyst: 'Analyst', read_only: 'Read-only' };
const LIVE_TEXT = { off: 'Live updates off', connecting: 'Connecting…', live: 'Live', retrying: 'Reconnecting…' };

function Nav() {
  const { path } = useLocation();
  const groups = NAV_GROUPS.map((g) => ({
    g,
    items: routes.filter((r) => r.nav && r.nav.group === g && can(r.ability)).sort((a, b) => (a.nav.order || 0) - (b.nav.order || 0)),
  })).filter((x) => x.items.length);
  return (
    <nav class="nav" aria-label="Main">
      {groups.map(({ g, items }) => (
        <div class="nav-group" key={g}>
          <h2 class="nav-title">{g}</h2>
          <ul>
            {items.map((r) => {
              const active = r.path === '/' ? path === '/' : path === r.path || path.startsWith(r.path + '/');
              return (
                <li key={r.path}>
                  <a href={r.path} class={active ? 'is-active' : ''} aria-current={active ? 'page' : undefined}>{r.title}</a>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}

function TopBar() {
  const s = useSession();
  const live = useStore(liveStatus);
  return (
    <header class="topbar">
      <a href="/" class="brand">OTWatch</a>
      <div class="topbar-right">
        <span class={`live live-${live}`} role="status" title="Live updates from the console">
          <span class="live-dot" aria-hidden="true" />{LIVE_TEXT[live]}
        </span>
        <span class="user" data-testid="user">
          <a href="/account" class="user-name" title="My account: role, password">{s.user.username}</a>
          <span class={`role role-${s.user.role}`} data-testid="role">{ROLE_NAMES[s.user.role] || s.user.role}</span>
        </span>
        <button type="button" class="btn btn-ghost btn-small" onClick={() => logout()}>Sign out</button>
      </div>
    </header>
  );
}

export function Layout({ children }) {
  return (
    <div class="shell">
      <a href="#main" class="skip-link" data-native onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <TopBar />
      <div class="shell-body">
        <Nav />
        <main id="main" tabIndex={-1}>{children}</main>
      </div>
      <ToastRegion />
      <ConfirmHost />
    </div>
  );
}
