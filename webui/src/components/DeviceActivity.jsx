// What a device did and what happened to it, for the device page: its connections (with the function codes seen
// on them), the alerts involving it, its DPI events, and a timeline that adds the analysts' edits from the audit log
// when the role may read it.
//
// Each comes from its API filter, paged with the server's cursor: GET /connections?device_id= (the connections of
// the device and of the devices merged into it), GET /alerts?device_id= (newest first), GET /dpi-events?device_id=
// and GET /audit-log?object=<id>&action=device. (its device.update and device.merge records, newest first).
import { useMemo } from 'preact/hooks';
import { api, errorText } from '../lib/api.js';
import { ago, bytes, num, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { can } from '../lib/session.js';
import { deviceName } from './DeviceBits.jsx';
import { Pager, usePagedList } from './Table.jsx';

export const CONN_PAGE = 200;
export const ALERT_PAGE = 50;

function mine(dev) {
  const ids = new Set([dev.id, ...(dev.merged_ids || [])]);
  const addrs = new Set([...(dev.ips || []), ...(dev.macs || []).map((m) => m.toLowerCase())]);
  return { ids, addrs, has: (id, addr) => (id !== null && id !== undefined && ids.has(id)) || (!!addr && addrs.has(String(addr).toLowerCase())) };
}

/** The peers' devices of a page of connections (one GET per distinct peer, at most 40), as a Map id -> device. */
async function loadPeers(ids, signal) {
  const got = await Promise.all(ids.map((id) => api.get(`/devices/${id}`, { signal }).catch((e) => {
    if (e.aborted) throw e;
    return null; // merged away or out of scope since: the address is shown instead
  })));
  return new Map(got.filter(Boolean).map((d) => [d.id, d]));
}

/** { conns, peers, alerts, dpi, edits } for device `id` (dev: the loaded device, null while it loads). conns, alerts
 * and edits are usePagedList()s; peers and dpi useApi()s. */
export function useDeviceActivity(id, dev) {
  const conns = usePagedList('/connections', { query: { device_id: id }, limit: CONN_PAGE, live: ['inventory'], debounce: 5000 });
  const alerts = usePagedList('/alerts', { query: { device_id: id }, limit: ALERT_PAGE, live: ['alert'], debounce: 5000 });
  const edits = usePagedList('/audit-log', { query: { object: id, action: 'device.' }, limit: 200, enabled: can('readAudit') });
  const dpi = useApi('/dpi-events', { query: { device_id: id, limit: 200 }, live: ['inventory'], debounce: 5000 });
  const peerIds = useMemo(() => {
    if (!dev || !conns.items) return [];
    const m = mine(dev);
    const ids = conns.items.map((c) => (m.has(c.src, c.src_addr) ? c.dst : c.src)).filter((x) => x && !m.ids.has(x));
    return [...new Set(ids)].slice(0, 40);
  }, [dev, conns.items]);
  const peers = useApi((s) => loadPeers(peerIds, s), { deps: [peerIds.join(',')], enabled: peerIds.length > 0 });
  return { conns, peers, alerts, dpi, edits };
}

/** Function codes per protocol seen on the device's connections: Map proto -> [{code, name, sent, received}]. */
export function functionsByProto(dev, conns) {
  const m = mine(dev);
  const out = new Map();
  for (const c of conns || []) {
    const client = m.has(c.src, c.src_addr);
    for (const fn of c.functions || []) {
      if (!out.has(fn.proto)) out.set(fn.proto, new Map());
      const per = out.get(fn.proto);
      const e = per.get(fn.code) || { code: fn.code, name: fn.name, sent: false, received: false };
      if (client) e.sent = true;
      else e.received = true;
      per.set(fn.code, e);
    }
  }
  const res = new Map();
  for (const [p, per] of out) res.set(p, [...per.values()].sort((a, b) => a.code - b.code));
  return res;
}

/** The loading / error line of a useApi() result (data) or a usePagedList() (items). */
export function Loading({ res, what }) {
  const have = res.items !== undefined ? res.items : res.data;
  if (res.error) return <p class="form-error" role="alert">The {what} could not be loaded: {errorText(res.error)}</p>;
  if (res.loading && !have) return <p class="muted">Loading {what}…</p>;
  return null;
}

/** The pager of a usePagedList(), only when there is more than one page. */
function MorePages({ list, label }) {
  if (!list.hasPrev && !list.hasNext) return null;
  return <Pager list={list} label={label} />;
}

const byLastSeen = (a, b) => (a.last_seen < b.last_seen ? 1 : a.last_seen > b.last_seen ? -1 : 0);

export function ConnectionsTable({ dev, res, peers }) {
  if (!res.items) return <Loading res={res} what="connections" />;
  if (res.items.length === 0 && !res.hasPrev) return <><Loading res={res} what="connections" /><p class="muted">No connections seen.</p></>;
  const m = mine(dev);
  const names = (peers && peers.data) || new Map();
  const rows = res.items.slice().sort(byLastSeen);
  return (
    <>
      <Loading res={res} what="connections" />
      <div class="table-wrap">
        <table class="table dev-table">
          <caption class="sr-only">Connections</caption>
          <thead><tr>
            <th scope="col">Its role</th><th scope="col">Peer</th><th scope="col">Protocols</th><th scope="col" class="num">Port</th>
            <th scope="col" class="num">Packets</th><th scope="col" class="num">Bytes</th><th scope="col">Last seen</th>
          </tr></thead>
          <tbody>
            {rows.map((c) => {
              const out = m.has(c.src, c.src_addr);
              const peerId = out ? c.dst : c.src;
              const peerAddr = out ? c.dst_addr : c.src_addr;
              const peer = peerId && names.get(peerId);
              return (
                <tr key={c.id}>
                  <td>{out ? 'client →' : 'server ←'}</td>
                  <td>{peerId ? <a href={`/devices/${peerId}`}>{peer ? deviceName(peer) : peerAddr}</a> : <span class="mono">{peerAddr}</span>}
                    {peer && peerAddr && <span class="mono muted"> {peerAddr}</span>}</td>
                  <td>{(c.protocols || []).join(', ') || c.transport}</td>
                  <td class="num">{c.port ?? '—'}</td>
                  <td class="num">{num(c.packets)}</td>
                  <td class="num">{bytes(c.bytes)}</td>
                  <td><span title={time(c.last_seen)}>{ago(c.last_seen)}</span></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {(res.hasPrev || res.hasNext) && <p class="hint dev-page-note">{CONN_PAGE} connections a page, in the order the console first
        saw them; each page sorted by last seen. The protocols' function codes are those of this page.</p>}
      <MorePages list={res} label="Connection pages" />
    </>
  );
}

const sevClass = (s) => `sev-${s}`;

export function AlertsTable({ res }) {
  if (!res.items) return <Loading res={res} what="alerts" />;
  if (res.items.length === 0 && !res.hasPrev) return <><Loading res={res} what="alerts" /><p class="muted">No alerts involve this device.</p></>;
  return (
    <>
      <Loading res={res} what="alerts" />
      <ul class="plain dev-list">
        {res.items.map((a) => (
          <li key={a.id}>
            <span class={`dev-sev ${sevClass(a.severity)}`}>{a.severity}</span>{' '}
            <a href={`/alerts/${a.id}`}>{a.title}</a>{' '}
            <span class="badge">{a.status}</span>{' '}
            <span class="muted" title={time(a.detected_at)}>{ago(a.detected_at)}</span>
          </li>
        ))}
      </ul>
      <MorePages list={res} label="Alert pages" />
    </>
  );
}

export function DpiList({ res }) {
  const d = res.data;
  if (!d) return <Loading res={res} what="DPI events" />;
  if (d.items.length === 0) return <p class="muted">No DPI events.</p>;
  return (
    <ul class="plain dev-list">
      {d.items.slice(0, 50).map((e) => (
        <li key={e.id}>
          <span class={`badge ${e.kind === 'violation' ? 'dev-violation' : ''}`}>{e.kind}</span>{' '}
          <strong>{e.proto}</strong> {e.name}{' '}
          <span class="mono muted">{e.src_addr || '?'} → {e.dst_addr || '?'}</span>{' '}
          <span class="muted">×{num(e.count)}, <span title={time(e.last_seen)}>{ago(e.last_seen)}</span></span>
        </li>
      ))}
    </ul>
  );
}

function editText(a) {
  if (a.action === 'device.merge') return `merged devices into this one${a.username ? ` (${a.username})` : ''}`;
  const after = (a.details && a.details.after) || {};
  const fields = Object.keys(after);
  return `${a.username || 'someone'} changed ${fields.length ? fields.join(', ') : 'the device'}`;
}

export function Timeline({ dev, act }) {
  const ev = [
    { at: dev.first_seen, kind: 'seen', text: 'First seen' },
    { at: dev.last_seen, kind: 'seen', text: 'Last seen' },
  ];
  if (act.alerts.items) for (const a of act.alerts.items) ev.push({ at: a.detected_at, kind: 'alert', text: `Alert: ${a.title}`, href: `/alerts/${a.id}` });
  if (act.dpi.data) for (const e of act.dpi.data.items.slice(0, 50)) ev.push({ at: e.first_seen, kind: 'dpi', text: `DPI ${e.kind}: ${e.proto} ${e.name}` });
  if (act.edits.items) for (const a of act.edits.items) ev.push({ at: a.at, kind: 'edit', text: editText(a) });
  ev.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return (
    <>
      <ol class="dev-timeline">
        {ev.slice(0, 80).map((e, i) => (
          <li key={i} class={`dev-tl-${e.kind}`}>
            <time datetime={e.at} title={time(e.at)}>{time(e.at)}</time>
            <span>{e.href ? <a href={e.href}>{e.text}</a> : e.text}</span>
          </li>
        ))}
      </ol>
      {!can('readAudit') && <p class="hint">Edits are not listed: your role cannot read the audit log.</p>}
      {act.edits.error && <p class="hint">Edits could not be loaded from the audit log.</p>}
      {act.edits.hasNext && <p class="hint">Only the {num(act.edits.items.length)} newest edits are listed; the{' '}
        <a href="/audit-log?action=device.">audit log</a> has them all (object {dev.id}).</p>}
    </>
  );
}
