// Exclusion rules: known traffic whose alerts the console suppresses as they arrive (docs/alerts.md,
// "Suppression"). Everyone sees the rules in their scope; analysts and admins create, edit and delete them in their
// scope; global rules (no zone or site) are seen and managed by admins only.
import { useMemo, useState } from 'preact/hooks';
import { CheckGroup, OnOff, ScopeOptions, SelectBox, scopeBody, scopeText, scopeValue, useEstate } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Pager, Table, usePagedList } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';
import '../styles/admin.css';

export const route = { path: '/exclusion-rules', title: 'Exclusion rules', nav: { group: 'Alerts', order: 60 } };

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']]
  .map(([value, label]) => ({ value, label }));

function conditions(r, est) {
  const out = [];
  if (r.title) out.push(`title "${r.title}"`);
  if (r.address) out.push(`${r.address.direction === 'both' ? 'source or destination' : r.address.direction} ${r.address.value}`);
  if (r.sensor_id) out.push(`sensor ${est ? est.sensorLabel(r.sensor_id) : r.sensor_id}`);
  if (r.time_window) {
    const tw = r.time_window;
    const days = tw.days && tw.days.length && tw.days.length < 7 ? tw.days.join(', ') + ' ' : 'daily ';
    out.push(`${days}${tw.start}–${tw.end} ${tw.timezone}`);
  }
  return out.join('; ');
}

const mayManage = (r) => can('manageSuppression') && !!(r.zone_id || r.site_id || can('manageGlobalSuppression'));

export default function ExclusionsPage({ query }) {
  const est = useEstate();
  const filter = query.get('scope') || '';
  const q = filter ? scopeBody(filter) : {};
  const list = usePagedList('/exclusion-rules', { query: { site_id: q.site_id, zone_id: q.zone_id, sensor_id: q.sensor_id }, limit: 100 });
  const [dialog, setDialog] = useState(null);
  const e = est.data;

  const remove = async (r) => {
    if (!(await confirm({ title: `Delete exclusion rule "${r.name}"?`, message: 'Alerts it suppressed from now on will be raised again.', confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api.del(`/exclusion-rules/${r.id}`);
      toast.ok(`Deleted exclusion rule "${r.name}".`);
      list.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  const toggle = async (r) => {
    try {
      await api.patch(`/exclusion-rules/${r.id}`, { enabled: !r.enabled });
      toast.ok(`${r.enabled ? 'Disabled' : 'Enabled'} "${r.name}".`);
      list.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', render: (r) => <strong>{r.name}</strong> },
    { key: 'enabled', label: 'State', render: (r) => <OnOff on={r.enabled} /> },
    { key: 'scope', label: 'Scope', render: (r) => scopeText(e, r) },
    { key: 'conditions', label: 'Suppresses alerts with', render: (r) => <span class="admin-wrap">{conditions(r, e)}</span> },
    { key: 'suppressed_count', label: 'Suppressed', align: 'right', render: (r) => num(r.suppressed_count) },
    { key: 'last_suppressed_at', label: 'Last suppressed', render: (r) => <span title={time(r.last_suppressed_at)}>{r.last_suppressed_at ? ago(r.last_suppressed_at) : 'never'}</span> },
    { key: 'created_by', label: 'Created by', render: (r) => r.created_by || '—' },
    ...(can('manageSuppression') ? [{ key: 'actions', label: 'Actions', render: (r) => mayManage(r) && (
      <span class="cell-actions">
        <Button small onClick={() => setDialog({ rule: r })} aria-label={`Edit ${r.name}`}>Edit</Button>
        <Button small onClick={() => toggle(r)}>{r.enabled ? 'Disable' : 'Enable'}</Button>
        <Button small variant="danger" onClick={() => remove(r)} aria-label={`Delete ${r.name}`}>Delete</Button>
      </span>
    ) }] : []),
  ], [e]);

  return (
    <Page title="Exclusion rules" subtitle="Known traffic: alerts that meet every condition of an enabled rule are suppressed and only counted."
      actions={can('manageSuppression') && <Button variant="primary" disabled={!e} onClick={() => setDialog({})}>New exclusion rule</Button>}>
      <div class="admin-toolbar">
        <label class="admin-inline">Scope
          <select value={filter} onChange={(ev) => setQuery({ scope: ev.currentTarget.value || null })}>
            <option value="">All I can see</option>
            <ScopeOptions est={e} sensors global={false} />
          </select>
        </label>
      </div>
      <Table caption="Exclusion rules" columns={columns} rows={list.items} rowKey={(r) => r.id} loading={list.loading} error={list.error}
        empty={filter ? 'No exclusion rules in this scope.' : 'No exclusion rules yet. Create one for traffic that is expected, so that analysts do not triage it.'} />
      <Pager list={list} />
      {dialog && <RuleDialog rule={dialog.rule} est={e} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); list.reload(); }} />}
    </Page>
  );
}

const FIELD_MAP = {
  'time_window.start': 'tw_start', 'time_window.end': 'tw_end', 'time_window.timezone': 'tw_timezone', 'time_window.days': 'tw_start',
  time_window: 'tw_start', 'address.value': 'addr_value', 'address.direction': 'addr_value', address: 'addr_value',
  zone_id: 'scope', site_id: 'scope', conditions: 'title',
};

function RuleDialog({ rule, est, onClose, onDone }) {
  const r = rule || {};
  const tw = r.time_window;
  const form = useForm({
    name: r.name || '', enabled: r.enabled !== false, scope: rule ? scopeValue({ zone_id: r.zone_id, site_id: r.site_id }) : '',
    title: r.title || '', sensor_id: r.sensor_id || '',
    addr_value: r.address ? r.address.value : '', addr_direction: r.address ? r.address.direction : 'both',
    use_tw: !!tw, tw_days: tw && tw.days ? tw.days : [], tw_start: tw ? tw.start : '08:00', tw_end: tw ? tw.end : '17:00',
    tw_timezone: tw ? tw.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  }, { fields: FIELD_MAP });
  const v = form.values;
  const global = can('manageGlobalSuppression');
  const submit = form.handle(async (x) => {
    const body = {
      name: x.name.trim(), enabled: x.enabled, ...scopeBody(x.scope),
      title: x.title.trim() || null, sensor_id: x.sensor_id || null,
      address: x.addr_value.trim() ? { value: x.addr_value.trim(), direction: x.addr_direction } : null,
      time_window: x.use_tw ? { ...(x.tw_days.length ? { days: x.tw_days } : {}), start: x.tw_start, end: x.tw_end, timezone: x.tw_timezone.trim() } : null,
    };
    if (!x.title.trim() && !body.address && !body.sensor_id && !body.time_window) {
      form.setErrors({ title: 'Set at least one condition: a title, an address, a sensor or a time window.' });
      return;
    }
    if (rule) await api.patch(`/exclusion-rules/${rule.id}`, body);
    else await api.post('/exclusion-rules', body);
    onDone(rule ? `Saved exclusion rule "${body.name}".` : `Created exclusion rule "${body.name}".`);
  });
  return (
    <Modal title={rule ? `Edit exclusion rule "${r.name}"` : 'New exclusion rule'} wide onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>{rule ? 'Save' : 'Create'}</Button></>}>
      <FormError form={form} />
      <div class="admin-grid-2">
        <Field form={form} name="name" label="Name" required maxLength={200} />
        <SelectBox form={form} name="scope" label="Scope" required={!global}
          hint={global ? 'Global rules apply to every zone.' : 'A site covers every zone of it (you need access to the whole site).'}>
          <ScopeOptions est={est} global={global} />
        </SelectBox>
      </div>
      <label class="check"><input type="checkbox" checked={v.enabled} onChange={(ev) => form.set('enabled', ev.currentTarget.checked)} /> Enabled</label>
      <h3 class="admin-sub">Conditions <span class="muted">(an alert must meet every one you set; at least one)</span></h3>
      <div class="admin-grid-2">
        <Field form={form} name="title" label="Alert title" maxLength={255} hint="Exact, not case-sensitive, e.g. New connection" />
        <SelectField form={form} name="sensor_id" label="Raised by sensor"
          options={[{ value: '', label: '(any sensor)' }, ...(est ? est.sensorOptions : [])]} />
        <Field form={form} name="addr_value" label="Address" hint="An IP (10.1.2.3), a subnet (10.1.2.0/24) or a MAC" />
        <SelectField form={form} name="addr_direction" label="Address is the"
          options={[{ value: 'both', label: 'source or destination' }, { value: 'source', label: 'source' }, { value: 'destination', label: 'destination' }]} />
      </div>
      <label class="check"><input type="checkbox" checked={v.use_tw} onChange={(ev) => form.set('use_tw', ev.currentTarget.checked)} /> Only within a time window (the alert's detection time)</label>
      {v.use_tw && (
        <div class="admin-box">
          <CheckGroup legend="Days (none: every day)" options={DAYS} value={v.tw_days} onChange={(l) => form.set('tw_days', l)} columns={7} />
          <div class="admin-grid-3">
            <Field form={form} name="tw_start" label="From" type="time" required />
            <Field form={form} name="tw_end" label="Until" type="time" required hint="Before From: crosses midnight" />
            <Field form={form} name="tw_timezone" label="Time zone" required hint="IANA name, e.g. Europe/Berlin" />
          </div>
        </div>
      )}
    </Modal>
  );
}
