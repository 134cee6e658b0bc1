// Who is signed in, their role, and keeping the session alive.
//
// The session JWT (cookie otw_session) lives access_token_ttl (300 s); we refresh it a minute before it expires
// and on any 401 (api.js). Refresh tokens are single use and replaying one revokes the session, so tabs of the
// same browser must never refresh at once: a Web Lock serialises them, and a tab that waited for the lock sees
// that otw_csrf changed (every refresh rotates it) and does not refresh again.
import { api, cookie, setAuthHooks } from './api.js';
import { createStore, useStore } from './store.js';

// state: 'loading' (asking /auth/me), 'anon', 'in'; user: {username, role}; expiresAt: ms since epoch.
export const session = createStore({ state: 'loading', user: null, expiresAt: 0, expired: false });
export const useSession = () => useStore(session);

const RANK = { read_only: 0, analyst: 1, admin: 2 };

// What each role may do, from docs/permissions.md. Pages ask can('triage') instead of comparing role names, so
// that a change of the permission table is one edit here. The server enforces the same rules regardless.
export const ABILITIES = {
  view: 'read_only',
  triage: 'analyst', // alert close/learn/mute/reopen, comments, bulk actions
  editInventory: 'analyst', // PATCH /devices/{id}, POST /devices/merge
  editSensorSettings: 'analyst', // PUT zone and sensor settings
  manageSuppression: 'analyst', // exclusion rules, maintenance windows in scope (global ones: admin)
  manageGlobalSuppression: 'admin',
  manageSensors: 'admin', // create, place, rename, mode, revoke
  manageHierarchy: 'admin', // business units, regions, sites, zones
  manageUsers: 'admin', // users, access groups, AD settings and mappings, API tokens
  manageForwarding: 'admin',
  manageIndicators: 'admin',
  readAudit: 'admin',
  admin: 'admin',
};

export function roleCan(role, ability) {
  const need = ABILITIES[ability];
  if (!need) throw new Error(`unknown ability '${ability}'`);
  return role in RANK && RANK[role] >= RANK[need];
}

/** can('triage'): may the signed-in user do this? (false while signed out) */
export function can(ability) {
  const s = session.get();
  return s.state === 'in' && roleCan(s.user.role, ability);
}

let timer = 0;
let refreshing = null;

function schedule(expiresAt) {
  clearTimeout(timer);
  // A minute early, at least 5 s from now; a session whose JWT lives under 70 s refreshes at 80 % of it.
  const left = expiresAt - Date.now();
  const lead = left > 70000 ? 60000 : left * 0.2;
  timer = setTimeout(() => refresh(), Math.max(5000, left - lead));
}

function signedIn(body) {
  const expiresAt = Date.parse(body.expires_at) || Date.now() + 300000;
  session.set({ state: 'in', user: body.user, expiresAt, expired: false });
  schedule(expiresAt);
}

async function refreshOnce(csrfBefore) {
  if (cookie('otw_csrf') && cookie('otw_csrf') !== csrfBefore) {
    // Another tab refreshed while we waited for the lock: its cookies are ours too.
    try {
      signedIn(await api.get('/auth/me', { noRetry: true }));
      return true;
    } catch {
      /* fall through to our own refresh */
    }
  }
  try {
    signedIn(await api.post('/auth/refresh', undefined, { noRetry: true }));
    return true;
  } catch {
    return false;
  }
}

/** Renews the session; resolves true on success. Concurrent callers share one attempt. */
export function refresh() {
  if (refreshing) return refreshing;
  const before = cookie('otw_csrf');
  const run = () => refreshOnce(before);
  const p = navigator.locks ? navigator.locks.request('otw-session-refresh', run) : run();
  refreshing = p.finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function expired() {
  clearTimeout(timer);
  const s = session.get();
  if (s.state === 'in') session.set({ state: 'anon', user: null, expiresAt: 0, expired: true });
}

setAuthHooks({ refresh, expired });

/** At start: are we signed in already (cookies from an earlier page load)? */
export async function loadSession() {
  try {
    signedIn(await api.get('/auth/me'));
  } catch {
    session.set({ state: 'anon', user: null, expiresAt: 0, expired: false });
  }
}

/** Signs in; throws ApiError (401 wrong credentials, 429 throttled with retryAfter, 503 ...). */
export async function login(username, password) {
  const body = await api.post('/auth/login', { username, password }, { noRetry: true });
  signedIn(body);
  return body.user;
}

export async function logout() {
  clearTimeout(timer);
  try {
    await api.post('/auth/logout', undefined, { noRetry: true });
  } catch {
    /* the session may be gone already; the cookies are cleared either way below */
  }
  session.set({ state: 'anon', user: null, expiresAt: 0, expired: false });
}
