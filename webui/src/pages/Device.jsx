// One device: who it is (name, type with the evidence for it, vendor, model, firmware, ...: what the sensors report
// and what an analyst overrode, both shown), where it is (addresses, VLANs, site and zone), what it speaks
// (protocols with roles, and the function codes seen on its connections), its connections, the alerts and DPI
// events involving it, and a timeline. Roles with editInventory edit it (DeviceEdit).
import { useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { AlertsTable, ConnectionsTable, DpiList, Loading, Timeline, functionsByProto, useDeviceActivity } from '../components/DeviceActivity.jsx';
import { AuthorizedBadge, ImportanceBadge, className, deviceName, siteLabel, typeName, usePlaces, zoneLabel } from '../components/DeviceBits.jsx';
import { DeviceEdit, OVERRIDE_FIELDS } from '../components/DeviceEdit.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { toast } from '../components/Toast.jsx';
import { errorText } from '../lib/api.js';
import { ago, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { can } from '../lib/session.js';
import '../styles/inventory.css';

export const route = { path: '/devices/:id', title: 'Device' };

const yes = (v) => (v === true ? 'yes' : v === false ? 'no' : null);
const show = (k, v) => (v === null || v === undefined || v === '' ? null : k === 'type' ? typeName(v) : String(v));

/** One identity fact: the effective value, and whether it is reported or an analyst's override (with the
 * reported value beside it). */
function Fact({ label, field, d, children }) {
  const ov = !!field && !!d.overrides && d.overrides[field] !== undefined && d.overrides[field] !== null;
  const reported = field ? show(field, (d.reported || {})[field]) : null;
  const value = children !== undefined ? children : show(field, d[field]);
  return (
    <>
      <dt>{label}</dt>
      <dd>
        {value ?? <span class="muted">—</span>}
        {ov && <> <span class="badge dev-overridden" title="Set by an analyst; wins over what the sensors report">overridden</span>
          <span class="muted dev-reported"> reported: {reported ?? 'nothing'}</span></>}
      </dd>
    </>
  );
}

function Identity({ d }) {
  const ev = Array.isArray(d.type_evidence) ? d.type_evidence : [];
  const flags = [['Scanner', d.scanner], ['Programming device', d.programming_device], ['External', d.external],
    ['Dynamic address', d.dynamic_address]].filter(([, v]) => v === true).map(([l]) => l);
  const attrs = d.attributes && typeof d.attributes === 'object' ? Object.entries(d.attributes) : [];
  const rackSlot = [d.rack !== null && d.rack !== undefined ? `rack ${d.rack}` : null, d.slot !== null && d.slot !== undefined ? `slot ${d.slot}` : null].filter(Boolean).join(', ');
  return (
    <dl class="facts dev-facts">
      <Fact label="Type" field="type" d={d}>{d.type ? `${typeName(d.type)} (${className(d.class)})` : null}</Fact>
      {ev.length > 0 && <><dt>Type evidence</dt><dd><ul class="plain dev-evidence">{ev.map((e, i) => <li key={i}>{typeof e === 'string' ? e : JSON.stringify(e)}</li>)}</ul></dd></>}
      {OVERRIDE_FIELDS.filter((f) => f.key !== 'type').map((f) => <Fact key={f.key} label={f.label} field={f.key} d={d} />)}
      <Fact label="MAC vendor (OUI)">{d.oui_vendor || null}</Fact>
      <Fact label="PLC mode">{d.plc_mode || null}</Fact>
      <Fact label="Rack / slot">{rackSlot || null}</Fact>
      {flags.length > 0 && <><dt>Traits</dt><dd>{flags.map((f) => <span key={f} class="badge dev-trait">{f}</span>)}</dd></>}
      {attrs.map(([k, v]) => <Fact key={k} label={k}>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</Fact>)}
    </dl>
  );
}

function Addresses({ d, places }) {
  const names = d.vlan_names || {};
  return (
    <dl class="facts">
      <dt>IP addresses</dt>
      <dd>{d.ips.length ? <ul class="plain mono">{d.ips.map((ip) => <li key={ip}>{ip}</li>)}</ul> : <span class="muted">none seen</span>}</dd>
      <dt>MAC addresses</dt>
      <dd>{d.macs.length ? <ul class="plain mono">{d.macs.map((m) => <li key={m}>{m}</li>)}</ul> : <span class="muted">none seen</span>}</dd>
      <dt>VLANs</dt>
      <dd>{d.vlans.length ? d.vlans.map((v) => (names[v] ? `${v} (${names[v]})` : String(v))).join(', ') : <span class="muted">untagged</span>}</dd>
      <dt>Site / zone</dt>
      <dd>{d.site_id !== null ? <a href={`/inventory?site_id=${d.site_id}`}>{siteLabel(places, d.site_id)}</a> : '—'} / {d.zone_id !== null
        ? <a href={`/inventory?zone_id=${d.zone_id}`}>{zoneLabel(places, d.zone_id)}</a> : 'not placed'}</dd>
      <dt>Seen by</dt>
      <dd>{(d.sensor_ids || []).length} sensor{(d.sensor_ids || []).length === 1 ? '' : 's'}</dd>
      <dt>First seen</dt><dd>{time(d.first_seen)}</dd>
      <dt>Last seen</dt><dd>{time(d.last_seen)} <span class="muted">({ago(d.last_seen)})</span></dd>
      {d.merged_ids && d.merged_ids.length > 0 && <><dt>Merged from</dt><dd>{d.merged_ids.map((i) => `#${i}`).join(', ')}</dd></>}
    </dl>
  );
}

function Protocols({ d, conns }) {
  const fns = conns.items ? functionsByProto(d, conns.items) : new Map();
  const names = [...new Set([...d.protocols.map((p) => p.name), ...fns.keys()])];
  if (names.length === 0) return <p class="muted">No protocols seen.</p>;
  return (
    <div class="table-wrap">
      <table class="table dev-table">
        <caption class="sr-only">Protocols</caption>
        <thead><tr><th scope="col">Protocol</th><th scope="col">Role</th><th scope="col">Function codes seen on its connections</th></tr></thead>
        <tbody>
          {names.map((n) => {
            const roles = d.protocols.filter((p) => p.name === n).map((p) => p.role).filter(Boolean);
            const f = fns.get(n) || [];
            return (
              <tr key={n}>
                <td><strong>{n}</strong></td>
                <td>{roles.length ? roles.join(', ') : <span class="muted">—</span>}</td>
                <td>{f.length ? f.map((x) => (
                  <span key={x.code} class="dev-fn" title={[x.sent && 'sent by this device', x.received && 'received by this device'].filter(Boolean).join(', ')}>
                    <span class="mono">{x.code}</span>{x.name ? ` ${x.name}` : ''}{x.sent && !x.received ? ' ↑' : x.received && !x.sent ? ' ↓' : ' ↕'}
                  </span>
                )) : <span class="muted">{conns.items ? 'none' : '…'}</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="hint dev-fn-key">↑ sent by this device (as client), ↓ received (as server), ↕ both.</p>
    </div>
  );
}

export default function DevicePage({ params }) {
  const res = useApi(`/devices/${encodeURIComponent(params.id)}`, { live: ['device', 'inventory'], debounce: 2000 });
  const places = usePlaces().data;
  const [editing, setEditing] = useState(false);
  const d = res.data && String(res.data.id) === params.id ? res.data : null;
  const act = useDeviceActivity(params.id, d);

  if (!d) {
    if (res.error) {
      const gone = res.error.status === 404;
      return (
        <Page title="Device">
          <div class="form-error" role="alert">{gone
            ? 'This device does not exist: it was merged into another device, purged after its retention time, or it is outside your access groups.'
            : `The device could not be loaded: ${errorText(res.error)}`}</div>
          <p><a href="/inventory">Back to the inventory</a></p>
        </Page>
      );
    }
    return <Page title="Device"><p class="muted">Loading…</p></Page>;
  }

  const sub = [d.type ? typeName(d.type) : 'Unknown type', d.vendor, d.model].filter(Boolean).join(' · ');
  return (
    <Page title={deviceName(d)} subtitle={sub}
      actions={<>
        <a class="btn btn-default btn-small" href="/inventory">Inventory</a>
        {can('editInventory') && <Button variant="primary" onClick={() => setEditing(true)}>Edit device</Button>}
      </>}>
      <div class="dev-head">
        <AuthorizedBadge value={d.authorized} />
        {d.importance && <span>importance <ImportanceBadge value={d.importance} /></span>}
        {d.new && <span class="badge inv-new">new</span>}
        <span class="mono" data-testid="device-ips">{d.ips.join(', ') || 'no IP'}</span>
        <span class="mono muted">{d.macs.join(', ')}</span>
        {(d.tags || []).map((t) => <a key={t} class="chip" href={`/inventory?tag=${encodeURIComponent(t)}`}>{t}</a>)}
      </div>
      {d.description && <p class="dev-desc">{d.description}</p>}
      {res.error && <p class="form-error" role="alert">Refreshing failed: {errorText(res.error)}</p>}
      <div class="grid grid-2 dev-grid">
        <Panel title="Addresses"><Addresses d={d} places={places} /></Panel>
        <Panel title="Identity"><Identity d={d} /></Panel>
      </div>
      <div class="stack dev-stack">
        <Panel title="Protocols"><Protocols d={d} conns={act.conns} /></Panel>
        <Panel title="Connections"><ConnectionsTable dev={d} res={act.conns} peers={act.peers} /></Panel>
        <div class="grid grid-2">
          <Panel title="Alerts" actions={<a href={`/alerts?device_id=${d.id}&status=all`}>Open in the alerts list</a>}>
            <AlertsTable res={act.alerts} />
          </Panel>
          <Panel title="DPI events"><DpiList res={act.dpi} /></Panel>
        </div>
        <Panel title="Timeline">
          {can('readAudit') && <Loading res={act.edits} what="edits" />}
          <Timeline dev={d} act={act} />
        </Panel>
      </div>
      {editing && <DeviceEdit device={d} onClose={() => setEditing(false)}
        onSaved={(nd, fields) => {
          setEditing(false);
          res.setData(nd);
          act.edits.reload();
          toast.ok(`Saved ${fields.join(', ')} of "${deviceName(nd)}".`);
        }} />}
    </Page>
  );
}
