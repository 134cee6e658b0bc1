// Forwarding rules (admins): which alerts and system notifications go to the SOC's collectors (syslog CEF / LEEF /
// JSON / text over UDP, TCP or TLS; webhook; Splunk HEC; email), each rule's delivery status from
// /forwarding-rules/{id}/status, and its dead letters (retry or discard). Secrets are write-only (docs/forwarding.md).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { CheckGroup, ENGINES, OnOff, SEVERITIES, SecretField, splitList, useEstate } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, TextArea, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Table, useSelection } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import '../styles/admin.css';

export const route = { path: '/forwarding-rules', title: 'Forwarding', nav: { group: 'Administration', order: 40 }, ability: 'manageForwarding' };

async function loadRules(signal) {
  const rules = await api.all('/forwarding-rules', { signal });
  const status = await Promise.all(rules.map((r) => api.get(`/forwarding-rules/${r.id}/status`, { signal }).catch((err) => {
    if (err.aborted) throw err;
    return null;
  })));
  return rules.map((r, i) => ({ ...r, status: status[i] }));
}

export function destination(a) {
  switch (a.type) {
    case 'syslog': return `syslog ${a.format.toUpperCase()} over ${a.transport.toUpperCase()} to ${a.host}:${a.port}`;
    case 'webhook': return `webhook ${a.url}`;
    case 'hec': return `Splunk HEC ${a.url}${a.index ? ` (index ${a.index})` : ''}`;
    case 'email': return `email to ${(a.to || []).join(', ')} via ${a.smtp_host}:${a.smtp_port}`;
    default: return a.type;
  }
}

function conditionText(r, est) {
  const out = [`${r.min_severity} and above`];
  if (r.engines.length) out.push(r.engines.join(', '));
  if (r.protocols.length) out.push(`protocols ${r.protocols.join(', ')}`);
  if (r.site_ids.length) out.push(`sites ${r.site_ids.map((id) => (est ? est.siteName(id) : id)).join(', ')}`);
  if (r.zone_ids.length) out.push(`zones ${r.zone_ids.map((id) => (est ? est.zoneLabel(id) : id)).join(', ')}`);
  const what = [r.include_alerts && 'alerts', r.include_system && 'system notifications'].filter(Boolean).join(' + ') || 'nothing';
  return `${what}: ${out.join('; ')}`;
}

function Status({ r }) {
  const s = r.status;
  if (!s) return <span class="muted">status unavailable</span>;
  return (
    <div class="admin-status" data-testid={`fw-status-${r.id}`}>
      <span class={`status ${s.failing ? 'status-down' : s.backlog ? 'admin-status-planned' : 'status-up'}`}>
        {s.failing ? 'failing' : s.backlog ? 'sending' : 'up to date'}
      </span>
      <span>backlog <strong>{num(s.backlog)}</strong>, delivered <strong>{num(s.delivered)}</strong>{s.last_delivered_at && <> (last {ago(s.last_delivered_at)})</>}</span>
      {s.dead_letters > 0 && <span class="admin-warn">{num(s.dead_letters)} dead letters</span>}
      {s.failing && s.next_attempt_at && <span>attempt {s.attempts}, next {time(s.next_attempt_at)}</span>}
      {s.last_error && <span class="admin-error-text" title={time(s.last_error_at)}>last error {ago(s.last_error_at)}: {s.last_error}</span>}
    </div>
  );
}

export default function ForwardingPage() {
  const res = useApi(loadRules);
  const est = useEstate();
  const [dialog, setDialog] = useState(null);
  useEffect(() => {
    const t = setInterval(() => res.reload(), 15000);
    return () => clearInterval(t);
  }, []);

  const remove = async (r) => {
    if (!(await confirm({ title: `Delete forwarding rule "${r.name}"?`, message: `Its backlog (${num(r.status ? r.status.backlog : r.backlog)} deliveries) and dead letters are deleted with it.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api.del(`/forwarding-rules/${r.id}`);
      toast.ok(`Deleted forwarding rule "${r.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  const toggle = async (r) => {
    try {
      await api.patch(`/forwarding-rules/${r.id}`, { enabled: !r.enabled });
      toast.ok(`${r.enabled ? 'Disabled' : 'Enabled'} "${r.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', render: (r) => <><strong>{r.name}</strong><div><OnOff on={r.enabled} /></div></> },
    { key: 'dest', label: 'Destination', render: (r) => <span class="admin-wrap mono">{destination(r.action)}</span> },
    { key: 'cond', label: 'Forwards', render: (r) => <span class="admin-wrap">{conditionText(r, est.data)}</span> },
    { key: 'status', label: 'Delivery', render: (r) => <Status r={r} /> },
    { key: 'actions', label: 'Actions', render: (r) => (
      <span class="cell-actions cell-actions-narrow">
        <Button small onClick={() => setDialog({ type: 'edit', rule: r })} aria-label={`Edit ${r.name}`}>Edit</Button>
        <Button small onClick={() => toggle(r)}>{r.enabled ? 'Disable' : 'Enable'}</Button>
        <Button small onClick={() => setDialog({ type: 'dead', rule: r })} aria-label={`Dead letters of ${r.name}`}>Dead letters</Button>
        <Button small variant="danger" onClick={() => remove(r)} aria-label={`Delete ${r.name}`}>Delete</Button>
      </span>
    ) },
  ], [est.data]);

  return (
    <Page title="Forwarding" subtitle="Alerts and system notifications sent to the SOC. Delivery goes through a persistent queue: an outage loses nothing."
      actions={<><Button onClick={() => res.reload()}>Refresh</Button><Button variant="primary" onClick={() => setDialog({ type: 'edit' })}>New forwarding rule</Button></>}>
      <Table caption="Forwarding rules" columns={columns} rows={res.data} rowKey={(r) => r.id} loading={res.loading} error={res.error}
        empty="No forwarding rules. Create one to send alerts to a SIEM, a webhook, Splunk or a mailbox." />
      {dialog && dialog.type === 'edit' && <RuleDialog rule={dialog.rule} est={est.data} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); res.reload(); }} />}
      {dialog && dialog.type === 'dead' && <DeadLetters rule={dialog.rule} onClose={() => { setDialog(null); res.reload(); }} />}
    </Page>
  );
}

const SECRET_OF = { syslog: 'client_key_pem', webhook: 'secret', hec: 'token', email: 'password' };

function initial(r) {
  const a = (r && r.action) || { type: 'syslog' };
  return {
    name: r ? r.name : '', enabled: r ? r.enabled : true, min_severity: r ? r.min_severity : 'warning',
    engines: r ? r.engines : [], protocols: r ? r.protocols.join(', ') : '',
    zone_ids: r ? r.zone_ids.map(String) : [], site_ids: r ? r.site_ids.map(String) : [],
    include_alerts: r ? r.include_alerts : true, include_system: r ? r.include_system : false,
    type: a.type, format: a.format || 'cef', transport: a.transport || 'tcp', host: a.host || '', port: a.port ? String(a.port) : '514',
    facility: a.facility !== undefined ? String(a.facility) : 'user', ca_pem: a.ca_pem || '', client_cert_pem: a.client_cert_pem || '',
    client_key_pem: '', url: a.url || '', secret: '', token: '', index: a.index || '', sourcetype: a.sourcetype || '',
    smtp_host: a.smtp_host || '', smtp_port: a.smtp_port ? String(a.smtp_port) : '25', from: a.from || '', to: (a.to || []).join(', '),
    starttls: a.starttls !== undefined ? a.starttls : true, username: a.username || '', password: '',
  };
}

function actionBody(x) {
  const opt = (o, k, v) => { if (v !== '' && v !== undefined) o[k] = v; return o; };
  const a = { type: x.type };
  if (x.type === 'syslog') {
    Object.assign(a, { format: x.format, transport: x.transport, host: x.host.trim(), port: Number(x.port) });
    opt(a, 'facility', /^\d+$/.test(x.facility) ? Number(x.facility) : x.facility.trim());
    if (x.transport === 'tls') {
      opt(a, 'ca_pem', x.ca_pem.trim());
      opt(a, 'client_cert_pem', x.client_cert_pem.trim());
      opt(a, 'client_key_pem', x.client_key_pem.trim());
    }
  } else if (x.type === 'webhook') {
    a.url = x.url.trim();
    opt(a, 'secret', x.secret);
    opt(a, 'ca_pem', x.ca_pem.trim());
  } else if (x.type === 'hec') {
    a.url = x.url.trim();
    opt(a, 'token', x.token);
    opt(a, 'ca_pem', x.ca_pem.trim());
    opt(a, 'index', x.index.trim());
    opt(a, 'sourcetype', x.sourcetype.trim());
  } else {
    Object.assign(a, { smtp_host: x.smtp_host.trim(), smtp_port: Number(x.smtp_port), from: x.from.trim(), to: splitList(x.to), starttls: x.starttls });
    opt(a, 'username', x.username.trim());
    opt(a, 'password', x.password);
    opt(a, 'ca_pem', x.ca_pem.trim());
  }
  return a;
}

// The API's field at fault in a 400 -> the dialog's: the action's fields are flat in the form ("action.port" ->
// "port"); a bad action as a whole goes under its type. Other names are the form's own.
const FIELDS = (f) => (f.startsWith('action.') ? f.slice(7) : f === 'action' ? 'type' : null);

function RuleDialog({ rule, est, onClose, onDone }) {
  const form = useForm(initial(rule), { fields: FIELDS });
  const v = form.values;
  const stored = !!(rule && rule.action.has_secret && rule.action.type === v.type);
  const submit = form.handle(async (x) => {
    const body = {
      name: x.name.trim(), enabled: x.enabled, min_severity: x.min_severity, engines: x.engines,
      protocols: splitList(x.protocols).map((p) => p.toLowerCase()), zone_ids: x.zone_ids.map(Number), site_ids: x.site_ids.map(Number),
      include_alerts: x.include_alerts, include_system: x.include_system, action: actionBody(x),
    };
    const r = rule ? await api.patch(`/forwarding-rules/${rule.id}`, body) : await api.post('/forwarding-rules', body);
    onDone(rule ? `Saved forwarding rule "${r.name}".` : `Created forwarding rule "${r.name}".`);
  });
  const t = v.type;
  return (
    <Modal title={rule ? `Edit forwarding rule "${rule.name}"` : 'New forwarding rule'} wide onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>{rule ? 'Save' : 'Create'}</Button></>}>
      <FormError form={form} />
      <div class="admin-grid-2">
        <Field form={form} name="name" label="Name" required maxLength={200} />
        <SelectField form={form} name="min_severity" label="Minimum severity" options={SEVERITIES.map((s) => ({ value: s, label: s }))} />
      </div>
      <div class="admin-row">
        <label class="check"><input type="checkbox" checked={v.enabled} onChange={(e) => form.set('enabled', e.currentTarget.checked)} /> Enabled</label>
        <label class="check"><input type="checkbox" checked={v.include_alerts} onChange={(e) => form.set('include_alerts', e.currentTarget.checked)} /> Forward alerts</label>
        <label class="check"><input type="checkbox" checked={v.include_system} onChange={(e) => form.set('include_system', e.currentTarget.checked)} /> Forward system notifications (sensor disconnected, silent, back)</label>
      </div>
      <h3 class="admin-sub">Conditions <span class="muted">(they AND together; nothing ticked means any)</span></h3>
      <CheckGroup legend="Engines" options={ENGINES} value={v.engines} onChange={(l) => form.set('engines', l)} error={form.errors.engines} columns={3} />
      <Field form={form} name="protocols" label="Protocols" hint="Comma-separated, as alerts name them (modbus, s7comm); empty: any" />
      <div class="admin-grid-2">
        <CheckGroup legend="Sites" options={est ? est.siteOptions : []} value={v.site_ids} onChange={(l) => form.set('site_ids', l)} error={form.errors.site_ids} />
        <CheckGroup legend="Zones" options={est ? est.zoneOptions : []} value={v.zone_ids} onChange={(l) => form.set('zone_ids', l)} error={form.errors.zone_ids} />
      </div>
      <h3 class="admin-sub">Destination</h3>
      <div class="admin-grid-3">
        <SelectField form={form} name="type" label="Send by" options={[
          { value: 'syslog', label: 'Syslog' }, { value: 'webhook', label: 'Webhook (HTTPS POST)' },
          { value: 'hec', label: 'Splunk HTTP Event Collector' }, { value: 'email', label: 'Email' }]} />
        {t === 'syslog' && <SelectField form={form} name="format" label="Format" options={[
          { value: 'cef', label: 'CEF' }, { value: 'leef', label: 'LEEF 2.0' }, { value: 'json', label: 'JSON' }, { value: 'text', label: 'Plain text' }]} />}
        {t === 'syslog' && <SelectField form={form} name="transport" label="Transport" options={[
          { value: 'udp', label: 'UDP (no delivery check)' }, { value: 'tcp', label: 'TCP' }, { value: 'tls', label: 'TLS' }]} />}
      </div>
      {t === 'syslog' && (
        <div class="admin-grid-3">
          <Field form={form} name="host" label="Collector host" required />
          <Field form={form} name="port" label="Port" type="number" min="1" max="65535" required />
          <Field form={form} name="facility" label="Facility" hint="user, local0 … or 0-23" />
        </div>
      )}
      {(t === 'webhook' || t === 'hec') && <Field form={form} name="url" label="URL" required type="url"
        hint={t === 'hec' ? 'The collector, e.g. https://splunk:8088 (no credentials or query string)' : 'HTTPS; no credentials or query string in it'} />}
      {t === 'webhook' && <SecretField form={form} name="secret" label="Signing secret" stored={stored} hint="16 characters or more; signs each request (HMAC-SHA256). Optional." />}
      {t === 'hec' && (
        <>
          <SecretField form={form} name="token" label="HEC token" stored={stored} required />
          <div class="admin-grid-2">
            <Field form={form} name="index" label="Index" />
            <Field form={form} name="sourcetype" label="Source type" hint="default otwatch:alert" />
          </div>
        </>
      )}
      {t === 'email' && (
        <>
          <div class="admin-grid-3">
            <Field form={form} name="smtp_host" label="SMTP relay" required />
            <Field form={form} name="smtp_port" label="Port" type="number" min="1" max="65535" required />
            <Field form={form} name="from" label="From" required />
          </div>
          <Field form={form} name="to" label="To" required hint="1 to 20 addresses, comma-separated" />
          <label class="check"><input type="checkbox" checked={v.starttls} onChange={(e) => form.set('starttls', e.currentTarget.checked)} /> Require STARTTLS (certificate verified; needed for a user name and password)</label>
          <div class="admin-grid-2">
            <Field form={form} name="username" label="User name" autocomplete="off" />
            <SecretField form={form} name="password" label="Password" stored={stored} />
          </div>
        </>
      )}
      {(t !== 'syslog' || v.transport === 'tls') && (
        <TextArea form={form} name="ca_pem" label="CA certificates (PEM)" class="mono" spellcheck={false}
          hint={t === 'syslog' ? 'Verifies the collector; empty: the system CAs.' : 'When given, the only trust (the system CAs are not used).'} />
      )}
      {t === 'syslog' && v.transport === 'tls' && (
        <div class="admin-grid-2">
          <TextArea form={form} name="client_cert_pem" label="Client certificate (PEM)" class="mono" spellcheck={false} />
          <SecretField form={form} name="client_key_pem" label="Client key (PEM)" stored={stored} textarea />
        </div>
      )}
      {rule && rule.action.has_secret && rule.action.type === t && (
        <p class="muted">A stored {SECRET_OF[t].replace(/_/g, ' ')} is kept only while the destination stays the same; a new destination needs it typed again.</p>
      )}
    </Modal>
  );
}

function DeadLetters({ rule, onClose }) {
  const res = useApi(`/forwarding-rules/${rule.id}/dead-letters`, { query: { limit: 500 } });
  const sel = useSelection(rule.id);
  const [busy, setBusy] = useState(false);
  const items = res.data ? res.data.items : null;
  const act = async (what, ids) => {
    const label = what === 'retry' ? 'Retry' : 'Discard';
    if (what === 'discard' && !(await confirm({ title: `Discard ${ids ? ids.length : 'all'} dead letters?`, message: 'They are deleted and never delivered.', confirmLabel: 'Discard', danger: true }))) return;
    setBusy(true);
    try {
      const r = await api.post(`/forwarding-rules/${rule.id}/dead-letters/${what}`, ids ? { ids } : {});
      toast.ok(what === 'retry' ? `${num(r.retried)} back in the queue.` : `${num(r.discarded)} discarded.`);
      sel.clear();
      res.reload();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
    return label;
  };
  const columns = [
    { key: 'what', label: 'Message', render: (d) => (d.alert_id ? <a href={`/alerts/${d.alert_id}`}>alert {d.alert_id}</a> : `notification ${d.notification_id}`) },
    { key: 'created_at', label: 'Queued', render: (d) => time(d.created_at) },
    { key: 'dead_at', label: 'Refused for good', render: (d) => time(d.dead_at) },
    { key: 'attempts', label: 'Attempts', align: 'right', render: (d) => `${d.attempts}${d.refusals !== undefined ? ` (${d.refusals} refused)` : ''}` },
    { key: 'error', label: 'Error', render: (d) => <span class="admin-wrap">{d.error || '—'}</span> },
  ];
  return (
    <Modal title={`Dead letters of "${rule.name}"`} wide onClose={onClose}
      footer={<>
        <Button disabled={!sel.size} loading={busy} onClick={() => act('retry', sel.ids())}>Retry selected</Button>
        <Button disabled={!sel.size} loading={busy} variant="danger" onClick={() => act('discard', sel.ids())}>Discard selected</Button>
        <Button disabled={!items || !items.length} loading={busy} onClick={() => act('retry', null)}>Retry all</Button>
        <Button variant="primary" onClick={onClose}>Close</Button>
      </>}>
      <p class="muted">Messages the destination refused for good (HTTP 400, 413, 415, 422; SMTP 55x) while accepting the next one. Fix the receiver, then retry them.</p>
      <Table caption="Dead letters" columns={columns} rows={items} rowKey={(d) => d.id} loading={res.loading} error={res.error}
        selection={sel} empty="No dead letters: every message was delivered or is still queued." />
    </Modal>
  );
}
