// Live events: one EventSource on GET /api/v1/events shared by every page (the console allows 8 streams per user).
//
//   const off = live.subscribe('sensor', (data) => ...);   // alert | sensor | device | inventory | reset
//   useLive(['sensor', 'inventory'], refetch);              // in a component: refetch, debounced, also on reset
//
// The browser resends Last-Event-ID on its own reconnects. When the console ends a stream (`end`: lifetime or JWT
// expiry) or refuses one (401 after the JWT expired), we refresh the session and open a new EventSource with
// ?last_event_id= so that nothing is missed; if the console no longer has that id it sends `reset`, and every
// subscriber of 'reset' (useLive subscribes all its users) refetches what it shows.
import { useEffect, useRef } from 'preact/hooks';
import { refresh, session } from './session.js';
import { createStore } from './store.js';

const TYPES = ['alert', 'sensor', 'device', 'inventory'];
const subs = new Map(); // type -> Set(fn)
let es = null;
let lastId = '';
let retryTimer = 0;
let backoff = 1000;

// 'off' (signed out), 'connecting', 'live', 'retrying': shown in the top bar.
export const liveStatus = createStore('off');

function emit(type, data) {
  for (const fn of [...(subs.get(type) || [])]) {
    try {
      fn(data);
    } catch (err) {
      console.error('live subscriber failed', err);
    }
  }
}

function onMessage(ev) {
  if (ev.lastEventId) lastId = ev.lastEventId;
  let data = null;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return;
  }
  emit(ev.type, data);
}

function close() {
  clearTimeout(retryTimer);
  if (es) {
    es.close();
    es = null;
  }
}

function open() {
  close();
  if (session.get().state !== 'in') return;
  const u = '/api/v1/events' + (lastId ? `?last_event_id=${encodeURIComponent(lastId)}` : '');
  liveStatus.set('connecting');
  es = new EventSource(u, { withCredentials: true });
  es.onopen = () => {
    backoff = 1000;
    liveStatus.set('live');
  };
  for (const t of TYPES) es.addEventListener(t, onMessage);
  es.addEventListener('reset', (ev) => {
    if (ev.lastEventId) lastId = ev.lastEventId;
    emit('reset', safeJson(ev.data));
  });
  es.addEventListener('end', () => reconnect(0));
  es.onerror = () => {
    // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED: the console refused the stream
    // (401 after the JWT expired, 429/503 limits): renew the session and try again with backoff.
    if (es && es.readyState === EventSource.CLOSED) reconnect(backoff);
    else liveStatus.set('retrying');
  };
}

function safeJson(s) {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

function reconnect(delay) {
  close();
  liveStatus.set('retrying');
  backoff = Math.min(backoff * 2, 30000);
  retryTimer = setTimeout(async () => {
    if (session.get().state !== 'in') return;
    // The stream is authenticated by the session cookie: make sure it is fresh before reconnecting.
    if (session.get().expiresAt - Date.now() < 30000) await refresh();
    open();
  }, delay);
}

export function subscribe(type, fn) {
  if (!subs.has(type)) subs.set(type, new Set());
  subs.get(type).add(fn);
  return () => subs.get(type).delete(fn);
}

export const live = { subscribe, status: liveStatus };

// Follow the session: stream while signed in, stop at sign-out.
session.subscribe((s) => {
  if (s.state === 'in' && !es) open();
  if (s.state !== 'in') {
    close();
    lastId = '';
    liveStatus.set('off');
  }
});

/** useLive(types, fn, {debounce}): calls fn (at most once per debounce ms, default 1000) when an event of one of
 * types arrives, and on reset. fn receives the last event's data (null after a reset). */
export function useLive(types, fn, opts = {}) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const key = types.join(',');
  useEffect(() => {
    const wait = opts.debounce ?? 1000;
    let t = 0;
    let pending = null;
    const fire = (data) => {
      pending = data;
      if (t) return;
      t = setTimeout(() => {
        t = 0;
        fnRef.current(pending);
      }, wait);
    };
    const offs = [...types, 'reset'].map((ty) => subscribe(ty, ty === 'reset' ? () => fire(null) : fire));
    return () => {
      clearTimeout(t);
      offs.forEach((off) => off());
    };
  }, [key]);
}
