// Tables over server-side lists.
//
//   const list = usePagedList('/alerts', { query: { status, sort }, live: ['alert'] });
//   const cols = useColumns('alerts', COLUMNS);            // the user's visible columns, kept in localStorage
//   <ColumnChooser cols={cols} />
//   <Table columns={cols.visible} rows={list.items} rowKey={(r) => r.id} loading={list.loading} error={list.error}
//          sort={sort} onSort={(s) => setQuery({ sort: s })} selection={sel} caption="Alerts"
//          rowLabel={(a) => `Select alert ${a.title}`} className="alerts-table" />
//   <Pager list={list} />
//
// A column: { key, label, render?(row) (default row[key]), sort?: 'server sort key', align?: 'right',
// hidden?: true (hidden by default), required?: true (cannot be hidden) }. sort is 'key' or '-key' (descending).
// Rows are not clickable themselves: put a <a href> in the first column, so keyboard and middle-click work.
// selection (optional): useSelection() -> checkboxes and a header "select page" box, for bulk actions; rowLabel(row)
// names a row's checkbox for screen readers and tests ("Select alert <title>"; default "Select row <n>").
// className: extra classes on the table's wrapper (page-specific density or column widths).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, errorText } from '../lib/api.js';
import { useLive } from '../lib/live.js';
import { Button } from './Button.jsx';
import { Popover } from './Popover.jsx';

export function Table({ columns, rows, rowKey, loading, error, sort, onSort, selection, rowLabel, caption, className,
  empty = 'Nothing to show.' }) {
  const keys = (rows || []).map(rowKey);
  const allOn = selection && keys.length > 0 && keys.every((k) => selection.has(k));
  return (
    <div class={className ? `table-wrap ${className}` : 'table-wrap'} aria-busy={loading ? 'true' : undefined}>
      <table class="table">
        {caption && <caption class="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {selection && (
              <th class="col-select">
                <input type="checkbox" aria-label="Select all rows on this page" checked={allOn}
                  onChange={(e) => selection.setMany(keys, e.currentTarget.checked)} />
              </th>
            )}
            {columns.map((c) => {
              const dir = sort === c.sort ? 'ascending' : sort === '-' + c.sort ? 'descending' : undefined;
              return (
                <th key={c.key} scope="col" class={c.align === 'right' ? 'num' : ''} aria-sort={c.sort ? dir || 'none' : undefined}>
                  {c.sort && onSort ? (
                    <button type="button" class="th-sort" onClick={() => onSort(dir === 'ascending' ? '-' + c.sort : c.sort)}>
                      {c.label}<span class="sort-mark" aria-hidden="true">{dir === 'ascending' ? '▲' : dir === 'descending' ? '▼' : '↕'}</span>
                    </button>
                  ) : c.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {(rows || []).map((r, i) => (
            <tr key={keys[i]} class={selection && selection.has(keys[i]) ? 'is-selected' : ''}>
              {selection && (
                <td class="col-select">
                  <input type="checkbox" aria-label={rowLabel ? rowLabel(r) : `Select row ${i + 1}`} checked={selection.has(keys[i])}
                    onChange={(e) => selection.setMany([keys[i]], e.currentTarget.checked)} />
                </td>
              )}
              {columns.map((c) => (
                <td key={c.key} class={c.align === 'right' ? 'num' : ''}>{c.render ? c.render(r) : fmt(r[c.key])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {error && <div class="table-note form-error" role="alert">{errorText(error)}</div>}
      {!error && !loading && rows && rows.length === 0 && <div class="table-note">{empty}</div>}
      {loading && !rows && <div class="table-note">Loading…</div>}
    </div>
  );
}

function fmt(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** Cursor paging over GET path (items/next_cursor). Changing query starts again at the first page. live: event
 * types that refetch the current page (debounce: ms); enabled: false loads nothing (items stay null). */
export function usePagedList(path, { query = {}, limit = 100, live = null, debounce, enabled = true } = {}) {
  const [nav, setNav] = useState({ key: '', cursors: [null] });
  const [state, setState] = useState({ items: null, next: null, loading: !!enabled, error: null });
  const qkey = path + JSON.stringify(query) + limit;
  const ctl = useRef(null);
  const cursors = nav.key === qkey ? nav.cursors : [null];
  const page = cursors.length - 1;
  const go = (cs) => setNav({ key: qkey, cursors: cs });

  const load = (quiet) => {
    if (!enabled) return;
    if (ctl.current) ctl.current.abort();
    const c = new AbortController();
    ctl.current = c;
    if (!quiet) setState((s) => ({ ...s, loading: true, error: null }));
    api.get(path, { query: { ...query, limit, cursor: cursors[page] }, signal: c.signal }).then(
      (r) => !c.signal.aborted && setState({ items: r.items, next: r.next_cursor, loading: false, error: null }),
      (error) => !c.signal.aborted && !error.aborted && setState((s) => ({ ...s, loading: false, error })),
    );
  };
  useEffect(() => {
    load(false);
    return () => ctl.current && ctl.current.abort();
  }, [qkey, page, cursors[page], enabled]);
  useLive(live || [], () => load(true), { debounce });

  return {
    ...state,
    page,
    hasPrev: page > 0,
    hasNext: !!state.next,
    next: () => state.next && go([...cursors, state.next]),
    prev: () => cursors.length > 1 && go(cursors.slice(0, -1)),
    first: () => go([null]),
    reload: () => load(true),
  };
}

/** First / Previous / Next over usePagedList(); label names the navigation when a page has several pagers. */
export function Pager({ list, label = 'Pages' }) {
  return (
    <nav class="pager" aria-label={label}>
      <Button small onClick={list.first} disabled={!list.hasPrev}>First</Button>
      <Button small onClick={list.prev} disabled={!list.hasPrev}>Previous</Button>
      <span class="pager-pos">Page {list.page + 1}</span>
      <Button small onClick={list.next} disabled={!list.hasNext}>Next</Button>
    </nav>
  );
}

/** The visible columns of a table, chosen by the user and remembered per table (localStorage 'otw.cols.<id>'). */
export function useColumns(id, columns) {
  const storeKey = `otw.cols.${id}`;
  const [shown, setShown] = useState(() => {
    try {
      const saved = JSON.parse(localStorage.getItem(storeKey));
      if (Array.isArray(saved)) return new Set(saved);
    } catch {
      /* none saved */
    }
    return new Set(columns.filter((c) => !c.hidden).map((c) => c.key));
  });
  const visible = useMemo(() => columns.filter((c) => c.required || shown.has(c.key)), [columns, shown]);
  const toggle = (key, on) => {
    const s = new Set(shown);
    on ? s.add(key) : s.delete(key);
    setShown(s);
    localStorage.setItem(storeKey, JSON.stringify([...s]));
  };
  return { all: columns, visible, shown, toggle };
}

/** A "Columns" popover of checkboxes over useColumns(); closes on Escape (focus back on its button) or outside. */
export function ColumnChooser({ cols }) {
  return (
    <Popover class="column-chooser" align="end" summary="Columns" summaryClass="btn btn-default btn-small">
      <fieldset>
        <legend class="sr-only">Visible columns</legend>
        {cols.all.map((c) => (
          <label key={c.key} class="check">
            <input type="checkbox" checked={c.required || cols.shown.has(c.key)} disabled={c.required}
              onChange={(e) => cols.toggle(c.key, e.currentTarget.checked)} />
            {c.label}
          </label>
        ))}
      </fieldset>
    </Popover>
  );
}

/** Row selection for bulk actions; cleared when the list's query changes (pass its key). */
export function useSelection(resetKey) {
  const [sel, setSel] = useState(new Set());
  useEffect(() => setSel(new Set()), [resetKey]);
  return {
    size: sel.size,
    ids: () => [...sel],
    has: (k) => sel.has(k),
    setMany: (keys, on) => setSel((s) => {
      const n = new Set(s);
      keys.forEach((k) => (on ? n.add(k) : n.delete(k)));
      return n;
    }),
    clear: () => setSel(new Set()),
  };
}
