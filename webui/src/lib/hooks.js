// Data hooks for pages.
//
//   const { data, error, loading, reload } = useApi('/sensors', { query: { zone_id } });
//   const { data } = useApi(() => api.all('/zones'), { deps: [x], live: ['sensor'] });
//
// A new request supersedes the previous one (AbortController), an unmounted component aborts its request, and
// `live` refetches when one of those event types arrives (debounced) or the stream says `reset`.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { useLive } from './live.js';

export function useApi(source, opts = {}) {
  const { query, deps = [], live = null, keepData = true, enabled = true } = opts;
  const [state, setState] = useState({ data: undefined, error: null, loading: !!enabled });
  const ctl = useRef(null);
  const key = typeof source === 'string' ? source + '?' + JSON.stringify(query || {}) : '';
  const srcRef = useRef(source);
  srcRef.current = source;

  const load = useCallback(
    (quiet) => {
      if (!enabled) return;
      if (ctl.current) ctl.current.abort();
      const c = new AbortController();
      ctl.current = c;
      if (!quiet) setState((s) => ({ data: keepData ? s.data : undefined, error: null, loading: true }));
      const src = srcRef.current;
      const p = typeof src === 'string' ? api.get(src, { query, signal: c.signal }) : src(c.signal);
      p.then(
        (data) => {
          if (!c.signal.aborted) setState({ data, error: null, loading: false });
        },
        (error) => {
          if (!c.signal.aborted && !error.aborted) setState((s) => ({ data: s.data, error, loading: false }));
        },
      );
    },
    [key, enabled, ...deps],
  );

  useEffect(() => {
    load(false);
    return () => ctl.current && ctl.current.abort();
  }, [load]);

  useLive(live || [], () => load(true), { debounce: opts.debounce });

  return { ...state, reload: () => load(true), setData: (d) => setState((s) => ({ ...s, data: d })) };
}

/** useAction(fn): wraps an async action for a button: { run, busy, error }. */
export function useAction(fn) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (...args) => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (err) {
      setError(err);
      throw err;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}
