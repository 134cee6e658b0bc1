// Maintenance windows: planned work during which every alert of a site, zone or sensor is suppressed (console
// time; docs/alerts.md, "Maintenance windows"). Windows cannot be edited (the API has no such call): they are
// created and ended early. Global windows are for admins only.
import { useMemo, useState } from 'preact/hooks';
import { ScopeOptions, SelectBox, scopeBody, scopeText, useEstate } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Pager, Table, usePagedList } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';
import '../styles/admin.css';

export const route = { path: '/maintenance-windows', title: 'Maintenance windows', nav: { group: 'Alerts', order: 70 } };

const mayManage = (w) => can('manageSuppression') && !!(w.zone_id || w.site_id || w.sensor_id || (w.sensor_ids && w.sensor_ids.length) || can('manageGlobalSuppression'));

function windowScope(w, est) {
  const extra = [];
  if (w.sensor_ids && w.sensor_ids.length) extra.push(`sensors ${w.sensor_ids.map((s) => (est ? est.sensorLabel(s) : s)).join(', ')}`);
  if (w.engines && w.engines.length) extra.push(`engines ${w.engines.join(', ')}`);
  if (w.subnets && w.subnets.length) extra.push(`subnets ${w.subnets.join(', ')}`);
  const base = w.sensor_ids && w.sensor_ids.length && !w.zone_id && !w.site_id && !w.sensor_id ? '' : scopeText(est, w);
  return [base, ...extra].filter(Boolean).join('; ');
}

function state(w) {
  const now = Date.now();
  if (w.active) return <><span class="status status-up">active</span><div class="muted admin-small admin-nowrap">until {time(w.expires_at)}</div></>;
  if (Date.parse(w.starts_at) > now) return <span class="status admin-status-planned">planned</span>;
  return <span class="status status-off">ended</span>;
}

const duration = (w) => {
  const m = Math.round((Date.parse(w.expires_at) - Date.parse(w.starts_at)) / 60000);
  return m >= 120 ? `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}` : `${m} min`;
};

export default function MaintenancePage({ query }) {
  const est = useEstate();
  const e = est.data;
  const filter = query.get('scope') || '';
  const active = query.get('active') || '';
  const q = filter ? scopeBody(filter) : {};
  const list = usePagedList('/maintenance-windows', { query: { site_id: q.site_id, zone_id: q.zone_id, sensor_id: q.sensor_id, active }, limit: 100 });
  const [creating, setCreating] = useState(false);

  const end = async (w) => {
    if (!(await confirm({ title: `End maintenance window "${w.name}" now?`, message: 'Alerts of its scope are raised again from now on.', confirmLabel: 'End now', danger: true }))) return;
    try {
      await api.del(`/maintenance-windows/${w.id}`);
      toast.ok(`Ended maintenance window "${w.name}".`);
      list.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', render: (w) => <><strong>{w.name}</strong>{w.ticket_id && <div class="muted">ticket {w.ticket_id}</div>}</> },
    { key: 'state', label: 'State', render: state },
    { key: 'scope', label: 'Scope', render: (w) => <span class="admin-wrap">{windowScope(w, e)}</span> },
    { key: 'starts_at', label: 'Starts', render: (w) => time(w.starts_at) },
    { key: 'duration', label: 'Duration', render: duration },
    { key: 'suppressed_count', label: 'Suppressed', align: 'right', render: (w) => num(w.suppressed_count) },
    { key: 'last_suppressed_at', label: 'Last suppressed', render: (w) => <span title={time(w.last_suppressed_at)}>{w.last_suppressed_at ? ago(w.last_suppressed_at) : 'never'}</span> },
    { key: 'created_by', label: 'Created by', render: (w) => w.created_by || '—' },
    ...(can('manageSuppression') ? [{ key: 'actions', label: 'Actions', render: (w) => mayManage(w) && Date.parse(w.expires_at) > Date.now() && (
      <Button small variant="danger" onClick={() => end(w)} aria-label={`End ${w.name}`}>End now</Button>
    ) }] : []),
  ], [e]);

  return (
    <Page title="Maintenance windows" subtitle="Planned work: while a window is active, every alert of its scope is suppressed and only counted."
      actions={can('manageSuppression') && <Button variant="primary" disabled={!e} onClick={() => setCreating(true)}>New maintenance window</Button>}>
      <div class="admin-toolbar">
        <label class="admin-inline">Scope
          <select value={filter} onChange={(ev) => setQuery({ scope: ev.currentTarget.value || null })}>
            <option value="">All I can see</option>
            <ScopeOptions est={e} sensors global={false} />
          </select>
        </label>
        <label class="admin-inline">Show
          <select value={active} onChange={(ev) => setQuery({ active: ev.currentTarget.value || null })}>
            <option value="">active, planned and ended (30 days)</option>
            <option value="true">active now</option>
            <option value="false">not active</option>
          </select>
        </label>
      </div>
      <Table caption="Maintenance windows" columns={columns} rows={list.items} rowKey={(w) => w.id} loading={list.loading} error={list.error}
        empty={filter || active ? 'No maintenance windows match these filters.' : 'No maintenance windows. Create one before planned work so that its alerts do not reach the analysts.'} />
      <Pager list={list} />
      {creating && <CreateDialog est={e} onClose={() => setCreating(false)}
        onDone={(m) => { setCreating(false); toast.ok(m); list.reload(); }} />}
    </Page>
  );
}

function localNow() {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

// The API's field at fault in a 400 -> the dialog's field that sets it.
const FIELDS = { ttl_seconds: 'hours', zone_id: 'scope', site_id: 'scope', sensor_id: 'scope' };

function CreateDialog({ est, onClose, onDone }) {
  const form = useForm({ name: '', scope: '', start_now: true, starts_at: localNow(), hours: '2', minutes: '0' }, { fields: FIELDS });
  const v = form.values;
  const global = can('manageGlobalSuppression');
  const submit = form.handle(async (x) => {
    const ttl = Math.round((Number(x.hours) || 0) * 3600 + (Number(x.minutes) || 0) * 60);
    if (ttl < 60 || ttl > 2592000) {
      form.setErrors({ hours: 'The duration must be between 1 minute and 30 days.' });
      return;
    }
    const body = { name: x.name.trim(), ttl_seconds: ttl, ...scopeBody(x.scope) };
    if (!x.start_now) {
      const d = new Date(x.starts_at);
      if (isNaN(d)) {
        form.setErrors({ starts_at: 'Give a start date and time.' });
        return;
      }
      body.starts_at = d.toISOString();
    }
    const w = await api.post('/maintenance-windows', body);
    onDone(`Created maintenance window "${w.name}" (${w.active ? 'active now' : `starts ${time(w.starts_at)}`}).`);
  });
  return (
    <Modal title="New maintenance window" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Create</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={200} hint="What the work is, e.g. PLC firmware update" />
      <SelectBox form={form} name="scope" label="Scope" required={!global}
        hint="Every alert of this site, zone or sensor is suppressed while the window is active.">
        <ScopeOptions est={est} global={global} sensors />
      </SelectBox>
      <label class="check"><input type="checkbox" checked={v.start_now} onChange={(ev) => form.set('start_now', ev.currentTarget.checked)} /> Starts now</label>
      {!v.start_now && <Field form={form} name="starts_at" label="Starts at (your local time)" type="datetime-local" required
        hint="At most a year ahead; may lie in the past if part of the window is still ahead." />}
      <div class="admin-grid-2">
        <Field form={form} name="hours" label="Duration: hours" type="number" min="0" max="720" />
        <Field form={form} name="minutes" label="and minutes" type="number" min="0" max="59" />
      </div>
      <p class="muted">Windows cannot be changed once created: end one early and create another.</p>
    </Modal>
  );
}
