// The one way pages talk to the console: fetch with JSON, the CSRF header, one refresh-and-retry on a 401, and
// errors as ApiError objects carrying the HTTP status and the server's {"error": {code, message, field}}.
//
//   const sites = await api.get('/sites', { query: { limit: 500 }, signal });
//   await api.patch(`/sensors/${id}`, { mode: 'operational' });
//   const all = await api.all('/zones');          // follows next_cursor (small lists: hierarchy, sensors)
//
// Paths are relative to /api/v1 unless they start with '/api/' or '/external/'.

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, body, headers) {
    const e = (body && body.error) || {};
    super(e.message || (status ? `HTTP ${status}` : 'network error'));
    this.name = 'ApiError';
    this.status = status; // 0: no answer (network, TLS, console down)
    this.code = e.code || (status ? 'http_' + status : 'network');
    this.field = e.field || null; // the body or query field at fault (400), for forms
    this.body = body;
    this.retryAfter = headers ? Number(headers.get('Retry-After')) || null : null;
  }
  get aborted() {
    return this.code === 'aborted';
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return '';
}

export function url(path, query) {
  let u = path.startsWith('/api/') || path.startsWith('/external/') ? path : BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      q.append(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const s = q.toString();
    if (s) u += (u.includes('?') ? '&' : '?') + s;
  }
  return u;
}

// The session module installs these: refresh() resolves true when the session was renewed, expired() is told
// when it could not be (the app then shows the login page).
const hooks = { refresh: async () => false, expired: () => {} };
export function setAuthHooks(h) {
  Object.assign(hooks, h);
}

async function send(method, u, body, signal, accept) {
  const headers = { Accept: accept || 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = cookie('otw_csrf');
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  return fetch(u, { method, headers, body: payload, signal, credentials: 'same-origin', cache: 'no-store' });
}

async function parse(res) {
  if (res.status === 204) return null;
  const ctype = res.headers.get('Content-Type') || '';
  if (ctype.startsWith('application/json')) return res.json();
  return res.text();
}

/** request(method, path, {body, query, signal, raw, noRetry}) -> parsed JSON (or text; null on 204).
 * raw: resolve with the Response itself (downloads). Throws ApiError; an abort throws ApiError code 'aborted'. */
export async function request(method, path, opts = {}) {
  const u = url(path, opts.query);
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await send(method, u, opts.body, opts.signal, opts.accept);
    } catch (err) {
      if (err && err.name === 'AbortError') throw Object.assign(new ApiError(0, null), { code: 'aborted' });
      throw new ApiError(0, { error: { code: 'network', message: 'The console did not answer. Check the connection and try again.' } });
    }
    if (res.status === 401 && attempt === 0 && !opts.noRetry) {
      if (await hooks.refresh()) continue;
      hooks.expired();
    }
    break;
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await parse(res);
    } catch {
      body = null;
    }
    throw new ApiError(res.status, typeof body === 'object' ? body : null, res.headers);
  }
  if (opts.raw) return res;
  return parse(res);
}

/** Every item of a cursor-paged list (for small collections only: it stops at max items and says so). */
async function all(path, opts = {}) {
  const max = opts.max || 10000;
  const items = [];
  let cursor = null;
  do {
    const page = await request('GET', path, { ...opts, query: { ...opts.query, limit: 1000, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  items.truncated = !!cursor;
  return items;
}

export const api = {
  request,
  all,
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
};

/** A human sentence for an error, for toasts and form banners. */
export function errorText(err) {
  if (!err) return '';
  if (!(err instanceof ApiError)) return String(err.message || err);
  switch (err.status) {
    case 0:
      return err.message;
    case 403:
      return err.code === 'csrf'
        ? 'Your session token is out of date. Reload the page.'
        : 'Your role may not do this. Ask an administrator.';
    case 404:
      return 'Not found: it was deleted, or it is outside your access groups.';
    case 409:
      return err.message || 'Conflict with the current state. Reload and try again.';
    case 429:
      return err.retryAfter ? `Too many requests. Try again in ${err.retryAfter} s.` : 'Too many requests. Try again shortly.';
    case 503:
      return 'The console is unavailable (database or overload). Try again in a moment.';
    default:
      return err.message;
  }
}
