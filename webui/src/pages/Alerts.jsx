// Alerts: the triage list. Filters (status, default "new"; severity, engine, site, zone, sensor, time) live in the
// URL and in saved views; paging is the server's cursor. Live `alert` events do not move rows under the user's
// pointer: the page asks the console what is new and offers "N new alerts — show"; rows already shown get their
// counters updated in place. Roles with `triage` select rows and close, learn or mute them in bulk; an alert that
// leaves the filtered statuses leaves the list at once.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AlertStatus, Endpoint, SEVERITIES, STATUSES, Severity, engineName, plural, useAlertNames } from '../components/AlertBits.jsx';
import { AlertFilters, readAlertFilters, statusesOf, useAlertQuery } from '../components/AlertFilters.jsx';
import { AlertTriageDialog, triageProblems, triageSummary } from '../components/AlertTriage.jsx';
import { Button } from '../components/Button.jsx';
import { StackedBars } from '../components/Chart.jsx';
import { Page } from '../components/Page.jsx';
import { SavedViews } from '../components/SavedViews.jsx';
import { ColumnChooser, Pager, Table, useColumns, usePagedList, useSelection } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { useLive } from '../lib/live.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';
import '../styles/alerts.css';

export const route = { path: '/alerts', title: 'Alerts', nav: { group: 'Alerts', order: 10 } };

const LIMIT = 100;
const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function When({ iso }) {
  return <span class="nowrap" title={time(iso)}>{ago(iso)}</span>;
}

/** Text cut to its cell's width, whole in the tooltip. */
function Clip({ text }) {
  return <span class="alert-clip" title={text}>{text}</span>;
}

/** Asks the console, on live alert events, how many alerts newer than the newest shown match the filters. */
function useFresh(query, list) {
  const [fresh, setFresh] = useState({ count: 0, more: false, rows: new Map() });
  const newest = useRef({ key: '', id: 0 });
  const key = JSON.stringify(query);
  const ctl = useRef(null);
  useEffect(() => {
    if (list.page !== 0 || !list.items) return;
    const top = list.items.reduce((m, a) => Math.max(m, a.id), 0);
    newest.current = { key, id: newest.current.key === key ? Math.max(newest.current.id, top) : top };
    setFresh({ count: 0, more: false, rows: new Map() });
  }, [list.items]);
  useEffect(() => () => ctl.current && ctl.current.abort(), []);
  useLive(['alert'], () => {
    if (ctl.current) ctl.current.abort();
    const c = new AbortController();
    ctl.current = c;
    api.get('/alerts', { query: { ...query, limit: LIMIT }, signal: c.signal }).then(
      (r) => {
        if (c.signal.aborted) return;
        const top = newest.current.key === key ? newest.current.id : Infinity;
        const count = r.items.filter((a) => a.id > top).length;
        setFresh({ count, more: count === r.items.length && !!r.next_cursor, rows: new Map(r.items.map((a) => [a.id, a])) });
      },
      () => {}, // a failed peek changes nothing on screen; the next event or a reload tries again
    );
  }, { debounce: 1500 });
  return fresh;
}

function Histogram({ query }) {
  const q = { bucket: query.from && Date.now() - Date.parse(query.from) <= 86400e3 ? 'hour' : 'day', site_id: query.site_id, zone_id: query.zone_id };
  const hist = useApi('/stats/alerts', { query: q, live: ['alert'], debounce: 3000 });
  if (!hist.data || !hist.data.series) return null;
  const total = hist.data.series.reduce((s, p) => s + SEVERITIES.reduce((t, k) => t + (p[k] || 0), 0), 0);
  return (
    <details class="alert-histogram">
      <summary>Alerts detected per {q.bucket}, last {q.bucket === 'hour' ? '24 hours' : '30 days'} ({num(total)}, all statuses)</summary>
      <StackedBars series={hist.data.series} keys={SEVERITIES} height={120} title={`Alerts per ${q.bucket} by severity`}
        label={(t) => (q.bucket === 'hour' ? hhmm.format(new Date(t)) : t.slice(5, 10))} />
    </details>
  );
}

export default function AlertsPage({ query }) {
  const f = readAlertFilters(query);
  const q = useAlertQuery(f);
  const qkey = JSON.stringify(q);
  const list = usePagedList('/alerts', { query: q, limit: LIMIT });
  const names = useAlertNames();
  const n = names.data;
  const mayTriage = can('triage');
  const sel = useSelection(qkey);
  const [dialog, setDialog] = useState(null);
  const [gone, setGone] = useState(new Set());
  const fresh = useFresh(q, list);
  const statuses = statusesOf(f);

  useEffect(() => setGone(new Set()), [qkey]);
  // A reloaded page is the server's truth: forget what we removed locally.
  useEffect(() => setGone(new Set()), [list.items]);

  const change = (changes) => setQuery({ ...changes, view: null });

  const rows = useMemo(() => {
    if (!list.items) return null;
    return list.items.filter((a) => !gone.has(a.id)).map((a) => {
      const live = fresh.rows.get(a.id);
      return live && live.updated_at > a.updated_at ? live : a;
    });
  }, [list.items, gone, fresh.rows]);

  const columns = useMemo(() => [
    { key: 'severity', label: 'Severity', required: true, render: (a) => <Severity value={a.severity} /> },
    { key: 'title', label: 'Title', required: true, render: (a) => <a href={`/alerts/${a.id}`} class="alert-title" title={a.title}>{a.title}</a> },
    { key: 'engine', label: 'Engine', hidden: true, render: (a) => <span class="nowrap">{engineName(a.engine)}</span> },
    { key: 'protocol', label: 'Protocol', render: (a) => a.protocol || '—' },
    { key: 'src', label: 'Source', render: (a) => <Endpoint ep={a.src} /> },
    { key: 'dst', label: 'Destination', render: (a) => <Endpoint ep={a.dst} /> },
    { key: 'place', label: 'Site / zone', render: (a) => <Clip text={n ? n.place(a) : '…'} /> },
    { key: 'sensor', label: 'Sensor', hidden: true, render: (a) => <Clip text={(n ? n.sensor(a.sensor_id) : '…') + (a.sensor_ids && a.sensor_ids.length > 1 ? ` +${a.sensor_ids.length - 1}` : '')} /> },
    { key: 'detected_at', label: 'First seen', hidden: true, render: (a) => <When iso={a.detected_at} /> },
    { key: 'last_seen', label: 'Last seen', render: (a) => <When iso={a.last_seen} /> },
    { key: 'occurrences', label: 'Count', align: 'right', render: (a) => num(a.occurrences) },
    { key: 'status', label: 'Status', render: (a) => <AlertStatus value={a.status} /> },
    { key: 'received_at', label: 'Received', hidden: true, render: (a) => <When iso={a.received_at} /> },
    { key: 'id', label: 'Id', hidden: true, align: 'right', render: (a) => a.id },
  ], [n]);
  const cols = useColumns('alerts', columns);

  const done = (action, ids, r) => {
    setDialog(null);
    toast.ok(triageSummary(action, r));
    for (const p of triageProblems(r)) toast.error(p);
    const skip = new Set([...(r.not_found || []), ...(r.not_learnable || [])]);
    const to = { close: 'closed', learn: 'learned', mute: 'muted', reopen: 'new' }[action];
    if (!statuses.includes(to)) setGone((g) => new Set([...g, ...ids.filter((id) => !skip.has(id))]));
    sel.clear();
    list.reload();
  };

  const showFresh = () => (list.page === 0 ? list.reload() : list.first());
  const onlyNew = statuses.length === 1 && statuses[0] === 'new';
  const filtered = Object.entries(q).some(([k, v]) => v && !(k === 'status' && v === 'new'));

  return (
    <Page title="Alerts" subtitle={onlyNew ? 'New alerts, newest first' : statuses.length === STATUSES.length ? 'All statuses, newest first'
      : `Status: ${statuses.join(', ')}; newest first`}
      actions={<><SavedViews page="alerts" current={query.get('view')} params={f} none="none (status: new)" /><ColumnChooser cols={cols} /></>}>
      <AlertFilters f={f} names={n} onChange={change} />
      {!q.device_id && <Histogram query={q} /> /* per site or zone: it would not describe one device's alerts */}
      <div class="alert-bar" aria-live="polite">
        {fresh.count > 0 && (
          <button type="button" class="alert-fresh" onClick={showFresh}>
            {fresh.more ? `${LIMIT}+` : fresh.count} new {fresh.count === 1 && !fresh.more ? 'alert' : 'alerts'} — show
          </button>
        )}
        {mayTriage && sel.size > 0 && (
          <div class="alert-bulk" role="group" aria-label="Triage the selected alerts">
            <span class="alert-bulk-count">{plural(sel.size, 'alert')} selected</span>
            {!onlyNew && <Button small onClick={() => setDialog({ action: 'reopen', ids: sel.ids() })}>Reopen</Button>}
            <Button small onClick={() => setDialog({ action: 'close', ids: sel.ids() })}>Close</Button>
            <Button small onClick={() => setDialog({ action: 'learn', ids: sel.ids() })}>Learn</Button>
            <Button small onClick={() => setDialog({ action: 'mute', ids: sel.ids() })}>Mute</Button>
            <Button small variant="ghost" onClick={sel.clear}>Clear selection</Button>
          </div>
        )}
        {mayTriage && sel.size === 0 && rows && rows.length > 0 && (
          <span class="muted">Select alerts to close, learn or mute them.</span>
        )}
      </div>
      <Table caption="Alerts" className="alerts-table" columns={cols.visible} rows={rows} rowKey={(a) => a.id}
        loading={list.loading} error={list.error} selection={mayTriage ? sel : undefined} rowLabel={(a) => `Select alert ${a.title}`}
        empty={filtered ? 'No alerts match these filters.' : onlyNew ? 'No new alerts. Nothing waits for triage.' : 'No alerts.'} />
      <Pager list={list} />
      {dialog && <AlertTriageDialog action={dialog.action} ids={dialog.ids} onClose={() => setDialog(null)}
        onDone={(r) => done(dialog.action, dialog.ids, r)} />}
    </Page>
  );
}
