// The device inventory: one dense table over GET /api/v1/devices, sorted, filtered and paged on the server (keyset
// cursors), for estates of a million devices. Everything the user chose is in the URL (filters, sort, page size, the
// page's cursor, the saved view), so links and reloads keep it. The total comes from a separate count=true request
// so that the page never waits for the count. Live inventory/device events refetch the current page in place.
// Roles with editInventory select rows for bulk actions (authorize, importance, merge).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { ImportanceBadge, ShortList, className, deviceName, siteLabel, typeName, usePlaces, zoneLabel } from '../components/DeviceBits.jsx';
import { InventoryBulk } from '../components/InventoryBulk.jsx';
import { FILTER_KEYS, InventoryFilters, PAGE_SIZES, VIEW_KEYS, hasFilters, readInventoryFilters, useDeviceQuery } from '../components/InventoryFilters.jsx';
import { Page } from '../components/Page.jsx';
import { SavedViews } from '../components/SavedViews.jsx';
import { ColumnChooser, Table, useColumns, useSelection } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api, errorText, url } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { useLive } from '../lib/live.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';
import '../styles/inventory.css';

export const route = { path: '/inventory', title: 'Inventory', nav: { group: 'Inventory', order: 5 } };

const DEFAULT_LIMIT = 100;
const STACK = 'otw.inventory.pages';

// The cursors of the pages before the current one, per filter set, for "Previous" (the URL holds only the current
// page's cursor). Kept in sessionStorage so that a reload keeps them: { key, at (current cursor), stack }.
function readStack(key, at) {
  try {
    const s = JSON.parse(sessionStorage.getItem(STACK));
    if (s && s.key === key && s.at === at && Array.isArray(s.stack)) return s.stack;
  } catch {
    /* none kept */
  }
  return null;
}
function writeStack(key, at, stack) {
  try {
    sessionStorage.setItem(STACK, JSON.stringify({ key, at, stack }));
  } catch {
    /* storage full or off: Previous then goes to the first page */
  }
}

/** One page of devices for apiQuery at cursor, and (in parallel, once per filter set) their total. */
function useDevicePage(apiQuery, limit, cursor) {
  const [list, setList] = useState({ items: null, next: null, loading: true, error: null });
  const [count, setCount] = useState({ total: null, loading: true, error: null });
  const countQuery = useMemo(() => {
    const { sort: _s, order: _o, ...rest } = apiQuery;
    return rest;
  }, [apiQuery]);
  const lc = useRef(null);
  const cc = useRef(null);

  const loadList = (quiet) => {
    if (lc.current) lc.current.abort();
    const c = new AbortController();
    lc.current = c;
    if (!quiet) setList((s) => ({ ...s, loading: true, error: null }));
    api.get('/devices', { query: { ...apiQuery, limit, cursor }, signal: c.signal }).then(
      (r) => !c.signal.aborted && setList({ items: r.items, next: r.next_cursor || null, loading: false, error: null }),
      (error) => !c.signal.aborted && !error.aborted && setList((s) => ({ ...s, loading: false, error })),
    );
  };
  const loadCount = (quiet) => {
    if (cc.current) cc.current.abort();
    const c = new AbortController();
    cc.current = c;
    if (!quiet) setCount({ total: null, loading: true, error: null });
    api.get('/devices', { query: { ...countQuery, count: 'true', limit: 1 }, signal: c.signal }).then(
      (r) => !c.signal.aborted && setCount({ total: typeof r.total === 'number' ? r.total : null, loading: false, error: null }),
      (error) => !c.signal.aborted && !error.aborted && setCount((s) => ({ ...s, loading: false, error })),
    );
  };
  useEffect(() => {
    loadList(false);
    return () => lc.current && lc.current.abort();
  }, [apiQuery, limit, cursor]);
  useEffect(() => {
    loadCount(false);
    return () => cc.current && cc.current.abort();
  }, [countQuery]);
  // Something changed in the inventory: the same page again (same cursor), and the total; never a jump.
  useLive(['inventory', 'device'], () => {
    loadList(true);
    loadCount(true);
  }, { debounce: 2000 });
  return { ...list, count, reload: () => { loadList(true); loadCount(true); } };
}

// The API's query parameter at fault in a 400 -> the URL parameter that set it.
const URL_KEY_OF = { seen_after: 'seen', seen_before: 'seen', order: 'sort', sort: 'sort', limit: 'limit' };

function ListError({ error, onRemove, onRetry }) {
  if (error.status === 400 && error.field) {
    const key = URL_KEY_OF[error.field] || (FILTER_KEYS.includes(error.field) ? error.field : null);
    return (
      <div class="form-error inv-error" role="alert">
        The console did not accept the list's <code>{error.field}</code> parameter: {error.message}.
        {key && <> <Button small onClick={() => onRemove(key)}>Remove it</Button></>}
      </div>
    );
  }
  return (
    <div class="form-error inv-error" role="alert">
      The devices could not be loaded: {errorText(error)} <Button small onClick={onRetry}>Try again</Button>
    </div>
  );
}

export default function InventoryPage({ query }) {
  const f = readInventoryFilters(query);
  const sort = query.get('sort') || '';
  const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : DEFAULT_LIMIT;
  const cursor = query.get('cursor') || '';
  const apiQuery = useDeviceQuery(f, sort);
  const stackKey = JSON.stringify(apiQuery);
  const page = useDevicePage(apiQuery, limit, cursor || undefined);
  const places = usePlaces().data;
  const editor = can('editInventory');
  const sel = useSelection(stackKey + '|' + cursor + '|' + limit);

  // A filter, sort or size change starts again at the first page and leaves the saved view.
  const change = (changes) => setQuery({ ...changes, cursor: null, view: null });
  const stack = cursor ? readStack(stackKey, cursor) : [];
  const pageNo = stack ? stack.length + 1 : null;
  const goNext = () => {
    if (!page.next) return;
    writeStack(stackKey, page.next, [...(stack || []), cursor]);
    setQuery({ cursor: page.next });
  };
  const goPrev = () => {
    if (!stack || stack.length === 0) {
      setQuery({ cursor: null });
      return;
    }
    const prev = stack[stack.length - 1];
    writeStack(stackKey, prev, stack.slice(0, -1));
    setQuery({ cursor: prev || null });
  };

  // A cursor from another filter set or an old link: start at the first page instead of showing an error.
  useEffect(() => {
    const e = page.error;
    if (e && e.status === 400 && e.field === 'cursor' && cursor) {
      toast.info('That page position no longer applies to these filters: showing the first page.');
      setQuery({ cursor: null });
    }
  }, [page.error]);

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', sort: 'name', required: true, render: (d) => (
      <span class="inv-name">
        <a href={`/devices/${d.id}`}>{deviceName(d)}</a>
        {d.new && <span class="badge inv-new" title="First seen after its sensor left learning">new</span>}
      </span>
    ) },
    { key: 'type', label: 'Type', sort: 'type', render: (d) => d.type ? typeName(d.type) : <span class="muted">unknown</span> },
    { key: 'class', label: 'Class', hidden: true, render: (d) => className(d.class) },
    { key: 'vendor', label: 'Vendor', sort: 'vendor', render: (d) => d.vendor || <span class="muted">—</span> },
    { key: 'model', label: 'Model', hidden: true, render: (d) => d.model || <span class="muted">—</span> },
    { key: 'firmware', label: 'Firmware', hidden: true, render: (d) => d.firmware || <span class="muted">—</span> },
    { key: 'ips', label: 'IP', sort: 'ip', render: (d) => <ShortList items={d.ips} /> },
    { key: 'macs', label: 'MAC', hidden: true, render: (d) => <ShortList items={d.macs} /> },
    { key: 'hostname', label: 'Host name', hidden: true, render: (d) => d.hostname || <span class="muted">—</span> },
    { key: 'protocols', label: 'Protocols', hidden: true, render: (d) => <ShortList items={d.protocols.map((p) => p.name)} max={2} mono={false} /> },
    { key: 'site', label: 'Site', sort: 'site', render: (d) => siteLabel(places, d.site_id) },
    { key: 'zone', label: 'Zone', sort: 'zone', render: (d) => zoneLabel(places, d.zone_id) },
    { key: 'purdue_level', label: 'Purdue', sort: 'purdue_level', align: 'right', hidden: true, render: (d) => d.purdue_level ?? <span class="muted">—</span> },
    { key: 'authorized', label: 'Authorized', render: (d) => d.authorized ? <span class="inv-yes">yes</span> : <span class="inv-no">no</span> },
    { key: 'importance', label: 'Importance', hidden: true, render: (d) => <ImportanceBadge value={d.importance} /> },
    { key: 'tags', label: 'Tags', hidden: true, render: (d) => <ShortList items={d.tags || []} max={2} mono={false} /> },
    { key: 'first_seen', label: 'First seen', sort: 'first_seen', hidden: true, render: (d) => <span title={time(d.first_seen)}>{ago(d.first_seen)}</span> },
    { key: 'last_seen', label: 'Last seen', sort: 'last_seen', render: (d) => <span title={time(d.last_seen)}>{ago(d.last_seen)}</span> },
  ], [places]);
  const cols = useColumns('inventory', columns);

  const viewParams = {};
  for (const k of VIEW_KEYS) if (query.get(k)) viewParams[k] = query.get(k);
  const exportHref = url('/devices/export', { format: 'csv', ...apiQuery });
  const filtered = hasFilters(f);
  const c = page.count;
  const countText = c.loading ? 'counting…' : c.total !== null ? `${num(c.total)} device${c.total === 1 ? '' : 's'}`
    : 'count unavailable';
  const error = page.error && !(page.error.status === 400 && page.error.field === 'cursor') ? page.error : null;
  const empty = filtered
    ? <span>No devices match these filters. <Button small onClick={() => change(Object.fromEntries(FILTER_KEYS.map((k) => [k, null])))}>Clear filters</Button></span>
    : 'No devices yet: devices appear here when a sensor sees their traffic.';

  return (
    <Page title="Inventory" subtitle={<span data-testid="device-count" aria-live="polite">{countText}{filtered && c.total !== null ? ' match these filters' : ''}</span>}
      actions={<>
        <SavedViews page="inventory" current={query.get('view')} params={viewParams} none="no filters (every device)" />
        <ColumnChooser cols={cols} />
        <a class="btn btn-default btn-small" href={exportHref} data-native download
          title="The matching devices as CSV, in this order (at most 100,000 rows)">Export CSV</a>
      </>}>
      <InventoryFilters f={f} places={places} onChange={change} />
      {editor && <InventoryBulk selection={sel} rows={page.items} places={places} onDone={page.reload} />}
      {error && <ListError error={error} onRetry={page.reload} onRemove={(k) => change({ [k]: null })} />}
      <Table caption="Devices" className="inv-table" columns={cols.visible} rows={page.items} rowKey={(d) => d.id}
        loading={page.loading} sort={sort} onSort={(s) => change({ sort: s })} selection={editor ? sel : undefined}
        rowLabel={(d) => `Select device ${deviceName(d)}`} empty={empty} />
      <nav class="pager inv-pager" aria-label="Pages">
        <label for="inv-limit">Per page</label>
        <select id="inv-limit" value={String(limit)} onChange={(e) => change({ limit: e.currentTarget.value === String(DEFAULT_LIMIT) ? null : e.currentTarget.value })}>
          {PAGE_SIZES.map((n) => <option key={n} value={String(n)}>{n}</option>)}
        </select>
        <Button small onClick={() => setQuery({ cursor: null })} disabled={!cursor}>First</Button>
        <Button small onClick={goPrev} disabled={!cursor}>Previous</Button>
        <span class="pager-pos">{pageNo ? `Page ${pageNo}` : 'Later page'}{c.total !== null ? ` of ${num(Math.max(1, Math.ceil(c.total / limit)))}` : ''}</span>
        <Button small onClick={goNext} disabled={!page.next || page.loading}>Next</Button>
      </nav>
    </Page>
  );
}
