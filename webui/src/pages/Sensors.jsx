// Sensors: connection, learning/operational mode (and its toggle), version, last seen, backlog and health; admins
// create sensors (the activation file is downloaded at once), place them in zones, and revoke them.
import { useMemo, useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { ColumnChooser, Table, useColumns } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, bytes, download, num, pct, safeName, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';

export const route = { path: '/sensors', title: 'Sensors', nav: { group: 'Inventory', order: 20 } };

async function loadAll(signal) {
  const [sensors, zones, sites] = await Promise.all(['/sensors', '/zones', '/sites'].map((p) => api.all(p, { signal })));
  return { sensors, zones, sites };
}

function Connection({ s }) {
  if (s.status === 'revoked') return <span class="status status-off">revoked</span>;
  if (!s.connected && !s.last_seen) return <span class="status status-off">not connected yet</span>;
  const silent = s.health && s.health.silent_since;
  return (
    <span class={`status ${s.connected ? 'status-up' : 'status-down'}`} title={silent ? `silent since ${time(silent)}` : undefined}>
      {s.connected ? 'connected' : 'disconnected'}{silent ? ' (silent)' : ''}
    </span>
  );
}

function Mode({ s }) {
  const req = s.mode_request && s.mode_request.mode !== s.mode ? s.mode_request.mode : null;
  return (
    <span>
      <span class={`badge mode-${s.mode}`}>{s.mode}</span>
      {req && <span class="muted" title="asked of the sensor; it applies the change when it is connected"> → {req} (pending)</span>}
    </span>
  );
}

export default function SensorsPage({ query }) {
  const res = useApi(loadAll, { live: ['sensor'] });
  const [dialog, setDialog] = useState(null);
  const admin = can('manageSensors');
  const sort = query.get('sort') || 'name';
  const d = res.data;

  const placeName = useMemo(() => {
    if (!d) return () => '';
    const zones = new Map(d.zones.map((z) => [z.id, z]));
    const sites = new Map(d.sites.map((s) => [s.id, s.name]));
    return (s) => {
      const z = zones.get(s.zone_id);
      return z ? `${sites.get(z.site_id) || `site ${z.site_id}`} / ${z.name}` : s.zone_id ? `zone ${s.zone_id}` : 'not placed';
    };
  }, [d]);

  const setMode = async (s, mode) => {
    const ok = await confirm({
      title: mode === 'operational' ? `End learning on "${s.name}"?` : `Return "${s.name}" to learning?`,
      message: mode === 'operational'
        ? 'The sensor stops adding to its baseline: anything new from now on raises alerts.'
        : 'The sensor learns again: new devices and connections join the baseline without alerts until learning ends.',
      confirmLabel: mode === 'operational' ? 'Switch to operational' : 'Switch to learning',
    });
    if (!ok) return;
    try {
      await api.patch(`/sensors/${s.id}`, { mode });
      toast.ok(`Asked "${s.name}" to switch to ${mode}.`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  const revoke = async (s) => {
    const ok = await confirm({
      title: `Revoke sensor "${s.name}"?`,
      message: 'Its certificate stops working at once and it cannot reconnect. This cannot be undone: a replacement needs a new sensor and activation file.',
      confirmLabel: 'Revoke',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/sensors/${s.id}`);
      toast.ok(`Revoked "${s.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', sort: 'name', required: true, render: (s) => <span class="mono-id" title={s.id}>{s.name}</span> },
    { key: 'connected', label: 'Connection', sort: 'connected', render: (s) => <Connection s={s} /> },
    { key: 'mode', label: 'Mode', sort: 'mode', render: (s) => <Mode s={s} /> },
    { key: 'place', label: 'Site / zone', sort: 'place', render: placeName },
    { key: 'software_version', label: 'Version', sort: 'software_version', render: (s) => s.software_version || '—' },
    { key: 'last_seen', label: 'Last seen', sort: 'last_seen', render: (s) => <span title={time(s.last_seen)}>{ago(s.last_seen)}</span> },
    { key: 'backlog', label: 'Backlog', align: 'right', render: (s) => s.health ? <span title={`${num(s.health.journal_backlog_records)} records`}>{bytes(s.health.journal_backlog_bytes)}</span> : '—' },
    { key: 'drops', label: 'Capture drops', align: 'right', hidden: true, render: (s) => s.health ? num(s.health.capture_drops) : '—' },
    { key: 'cpu', label: 'CPU', align: 'right', hidden: true, render: (s) => s.health ? pct(s.health.cpu_pct) : '—' },
    { key: 'disk', label: 'Disk free', align: 'right', hidden: true, render: (s) => s.health ? bytes(s.health.disk_free_bytes) : '—' },
    { key: 'created_at', label: 'Created', sort: 'created_at', hidden: true, render: (s) => time(s.created_at) },
    ...(admin ? [{ key: 'actions', label: 'Actions', required: true, render: (s) => s.status === 'revoked' ? null : (
      <span class="row">
        {s.mode === 'learning'
          ? <Button small onClick={() => setMode(s, 'operational')}>End learning</Button>
          : <Button small onClick={() => setMode(s, 'learning')}>Learn again</Button>}
        <Button small onClick={() => setDialog({ type: 'place', sensor: s })}>Place</Button>
        <Button small variant="danger" onClick={() => revoke(s)} aria-label={`Revoke ${s.name}`}>Revoke</Button>
      </span>
    ) }] : []),
  ], [admin, placeName]);
  const cols = useColumns('sensors', columns);

  const rows = useMemo(() => {
    if (!d) return null;
    const key = sort.replace(/^-/, '');
    const dir = sort.startsWith('-') ? -1 : 1;
    const val = (s) => (key === 'place' ? placeName(s) : s[key] ?? '');
    return d.sensors.slice().sort((a, b) => {
      const x = val(a), y = val(b);
      return dir * (x < y ? -1 : x > y ? 1 : 0);
    });
  }, [d, sort]);

  return (
    <Page title="Sensors" subtitle={d ? `${d.sensors.length} sensor${d.sensors.length === 1 ? '' : 's'}, ${d.sensors.filter((s) => s.connected).length} connected` : undefined}
      actions={<>
        <ColumnChooser cols={cols} />
        {admin && <Button variant="primary" onClick={() => setDialog({ type: 'create' })}>New sensor</Button>}
      </>}>
      <Table caption="Sensors" columns={cols.visible} rows={rows} rowKey={(s) => s.id} loading={res.loading} error={res.error}
        sort={sort} onSort={(s) => setQuery({ sort: s === 'name' ? null : s })} empty="No sensors yet." />
      {dialog && dialog.type === 'create' && <CreateDialog zones={d ? d.zones : []} placeName={placeName} sites={d ? d.sites : []}
        onClose={() => setDialog(null)} onCreated={() => res.reload()} />}
      {dialog && dialog.type === 'place' && <PlaceDialog sensor={dialog.sensor} zones={d.zones} sites={d.sites}
        onClose={() => setDialog(null)} onDone={(m) => { setDialog(null); toast.ok(m); res.reload(); }} />}
    </Page>
  );
}

function zoneOptions(zones, sites, none) {
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  return [{ value: '', label: none }, ...zones
    .map((z) => ({ value: String(z.id), label: `${siteName.get(z.site_id) || `site ${z.site_id}`} / ${z.name}` }))
    .sort((a, b) => a.label.localeCompare(b.label))];
}

function CreateDialog({ zones, sites, onClose, onCreated }) {
  const form = useForm({ name: '', zone_id: '' });
  const [activation, setActivation] = useState(null);
  const fileName = (a) => `${safeName(a.sensor_name)}.activation.json`;
  const save = (a) => download(fileName(a), JSON.stringify(a, null, 2) + '\n');
  const submit = form.handle(async (v) => {
    const body = { name: v.name.trim() };
    if (v.zone_id) body.zone_id = Number(v.zone_id);
    const a = await api.post('/sensors', body);
    setActivation(a);
    save(a);
    onCreated();
  });
  if (activation) {
    return (
      <Modal title={`Sensor "${activation.sensor_name}" created`} onClose={onClose}
        footer={<><Button onClick={() => save(activation)}>Download again</Button><Button variant="primary" onClick={onClose} data-autofocus>Done</Button></>}>
        <p>The activation file <code>{fileName(activation)}</code> was downloaded. Copy it to the sensor and run:</p>
        <pre class="code">otwatch-sensor activate {fileName(activation)} --state DIR</pre>
        <p class="notice">It holds a one-time enrollment token, valid until {time(activation.expires_at)}. Keep it secret
          and delete it once the sensor is activated. It is not shown again after you close this dialog.</p>
        <dl class="facts"><dt>Sensor id</dt><dd class="mono" data-testid="new-sensor-id">{activation.sensor_id}</dd></dl>
      </Modal>
    );
  }
  return (
    <Modal title="New sensor" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Create and download activation file</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={200} hint="Unique; used for the activation file's name." />
      <SelectField form={form} name="zone_id" label="Zone" options={zoneOptions(zones, sites, '(place it later)')} />
    </Modal>
  );
}

function PlaceDialog({ sensor, zones, sites, onClose, onDone }) {
  const form = useForm({ zone_id: sensor.zone_id ? String(sensor.zone_id) : '' });
  const submit = form.handle(async (v) => {
    await api.patch(`/sensors/${sensor.id}`, { zone_id: v.zone_id ? Number(v.zone_id) : null });
    onDone(v.zone_id ? `Placed "${sensor.name}".` : `"${sensor.name}" is no longer placed.`);
  });
  return (
    <Modal title={`Place sensor "${sensor.name}"`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Save</Button></>}>
      <FormError form={form} />
      <SelectField form={form} name="zone_id" label="Zone" options={zoneOptions(zones, sites, '(not placed)')}
        hint="The sensor's inventory moves with it to the new zone." />
    </Modal>
  );
}
