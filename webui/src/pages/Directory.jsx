// Active Directory (admins): the domains users log in against (/settings/ldap; the service account password is
// write-only), a stage-by-stage connection test (/settings/ldap/test), and the AD group → role + access groups
// mappings (/ad-group-mappings). docs/directory.md.
import { useMemo, useState } from 'preact/hooks';
import { CheckGroup, OnOff, ROLES, SecretField, roleName } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, TextArea, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { Table } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import '../styles/admin.css';

export const route = { path: '/directory', title: 'Active Directory', nav: { group: 'Administration', order: 30 }, ability: 'manageUsers' };

async function load(signal) {
  const [ldap, mappings, groups] = await Promise.all([
    api.get('/settings/ldap', { signal }), api.all('/ad-group-mappings', { signal }), api.all('/access-groups', { signal })]);
  return { domains: ldap.domains, mappings, groups };
}

/** A stored domain as PUT takes it back: the password is left out, so the stored one is kept. */
function asInput(d) {
  const o = { name: d.name, netbios: d.netbios, uris: d.uris, start_tls: !!d.start_tls, ca_pem: d.ca_pem, base_dn: d.base_dn,
    bind_dn: d.bind_dn || null, timeout_ms: d.timeout_ms, enabled: d.enabled };
  if (d.upn_suffix) o.upn_suffix = d.upn_suffix;
  return o;
}

export default function DirectoryPage() {
  const res = useApi(load);
  const [dialog, setDialog] = useState(null);
  const d = res.data;
  const groupName = useMemo(() => {
    const m = new Map((d ? d.groups : []).map((g) => [g.id, g.name]));
    return (id) => m.get(id) || `group ${id}`;
  }, [d]);

  const putDomains = (list) => api.put('/settings/ldap', { domains: list });
  const removeDomain = async (dom) => {
    if (!(await confirm({ title: `Remove domain "${dom.name}"?`, message: 'Its users can no longer log in. Their console accounts and the group mappings stay.', confirmLabel: 'Remove', danger: true }))) return;
    try {
      await putDomains(d.domains.filter((x) => x.name !== dom.name).map(asInput));
      toast.ok(`Removed domain "${dom.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  const removeMapping = async (m) => {
    if (!(await confirm({ title: 'Delete this group mapping?', message: `Members of ${m.group_dn} lose the role and access it gives at their next login.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api.del(`/ad-group-mappings/${m.id}`);
      toast.ok('Deleted the group mapping.');
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const domainCols = [
    { key: 'name', label: 'Domain', render: (x) => <><strong>{x.name}</strong><div class="muted">{`${x.netbios}\\user · user@${x.upn_suffix || x.name}`}</div></> },
    { key: 'uris', label: 'Servers', render: (x) => <span class="mono admin-wrap">{x.uris.join(' ')}{x.start_tls ? ' (StartTLS)' : ''}</span> },
    { key: 'base_dn', label: 'Base DN', render: (x) => <span class="mono admin-wrap">{x.base_dn}</span> },
    { key: 'bind', label: 'Service account', render: (x) => (x.bind_dn ? <span class="admin-wrap">{x.bind_dn}{x.has_bind_password ? ' (password stored)' : ' (no password)'}</span> : <span class="muted">none</span>) },
    { key: 'enabled', label: 'State', render: (x) => <OnOff on={x.enabled} /> },
    { key: 'actions', label: 'Actions', render: (x) => (
      <span class="cell-actions">
        <Button small onClick={() => setDialog({ type: 'test', domain: x })} aria-label={`Test connection to ${x.name}`}>Test connection</Button>
        <Button small onClick={() => setDialog({ type: 'domain', domain: x })} aria-label={`Edit ${x.name}`}>Edit</Button>
        <Button small variant="danger" onClick={() => removeDomain(x)} aria-label={`Remove ${x.name}`}>Remove</Button>
      </span>
    ) },
  ];
  const mapCols = [
    { key: 'group_dn', label: 'AD group', render: (m) => <span class="mono admin-wrap">{m.group_dn}</span> },
    { key: 'role', label: 'Role', render: (m) => roleName(m.role) },
    { key: 'groups', label: 'Access groups', render: (m) => (m.role === 'admin' ? <span class="muted">all (administrator)</span> : m.access_group_ids.map(groupName).join(', ') || <span class="admin-warn">none: sees nothing</span>) },
    { key: 'created_at', label: 'Created', render: (m) => time(m.created_at) },
    { key: 'actions', label: 'Actions', render: (m) => <Button small variant="danger" onClick={() => removeMapping(m)} aria-label={`Delete mapping ${m.group_dn}`}>Delete</Button> },
  ];

  return (
    <Page title="Active Directory" subtitle="Users log in as user@domain or DOMAIN\user; their AD groups give their role and access groups at each login.">
      <div class="admin-cards">
        <Panel title="Domains" actions={<Button variant="primary" disabled={!d} onClick={() => setDialog({ type: 'domain' })}>Add domain</Button>}>
          <Table caption="Active Directory domains" columns={domainCols} rows={d ? d.domains : null} rowKey={(x) => x.name}
            loading={res.loading} error={res.error} empty="No domain configured: only local accounts can log in." />
        </Panel>
        <Panel title="Group mappings" actions={<Button variant="primary" disabled={!d} onClick={() => setDialog({ type: 'mapping' })}>New mapping</Button>}>
          <p class="muted">A user in several mapped groups gets the highest role and every access group of them; a user in none is refused. Changes apply at each user's next login.</p>
          <Table caption="AD group mappings" columns={mapCols} rows={d ? d.mappings : null} rowKey={(m) => m.id}
            loading={res.loading} error={res.error} empty="No mappings: no directory user can log in yet." />
        </Panel>
      </div>
      {dialog && dialog.type === 'domain' && <DomainDialog domain={dialog.domain} all={d.domains} put={putDomains} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); res.reload(); }} />}
      {dialog && dialog.type === 'test' && <TestDialog domain={dialog.domain} onClose={() => setDialog(null)} />}
      {dialog && dialog.type === 'mapping' && <MappingDialog groups={d.groups} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); res.reload(); }} />}
    </Page>
  );
}

function DomainDialog({ domain, all, put, onClose, onDone }) {
  const x = domain || {};
  const form = useForm({
    name: x.name || '', netbios: x.netbios || '', upn_suffix: x.upn_suffix || '', uris: (x.uris || []).join('\n'),
    start_tls: !!x.start_tls, ca_pem: x.ca_pem || '', base_dn: x.base_dn || '', bind_dn: x.bind_dn || '', bind_password: '',
    clear_password: false, timeout_ms: String(x.timeout_ms || 5000), enabled: x.enabled !== false,
  });
  const v = form.values;
  let idx = -1; // this domain's place in the list sent
  const submit = form.handle(async (f) => {
    const dom = {
      name: f.name.trim(), netbios: f.netbios.trim(), uris: f.uris.split(/\s+/).filter(Boolean), start_tls: f.start_tls,
      ca_pem: f.ca_pem.trim(), base_dn: f.base_dn.trim(), bind_dn: f.bind_dn.trim() || null,
      timeout_ms: Number(f.timeout_ms) || 5000, enabled: f.enabled,
    };
    if (f.upn_suffix.trim()) dom.upn_suffix = f.upn_suffix.trim();
    if (f.clear_password || !dom.bind_dn) dom.bind_password = null;
    else if (f.bind_password) dom.bind_password = f.bind_password;
    const others = all.filter((o) => !domain || o.name !== domain.name).map(asInput);
    const list = domain ? all.map((o) => (o.name === domain.name ? dom : asInput(o))) : [...others, dom];
    idx = list.indexOf(dom);
    await put(list);
    onDone(domain ? `Saved domain "${dom.name}".` : `Added domain "${dom.name}".`);
  }, {
    // The API names this domain's fields by their place in the list ("domains[2].base_dn"): this form's fields.
    fields: (field) => {
      const m = /^domains\[(\d+)\]\.(\w+)/.exec(field);
      return m && Number(m[1]) === idx ? m[2] : null;
    },
  });
  return (
    <Modal title={domain ? `Edit domain "${domain.name}"` : 'Add Active Directory domain'} wide onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>{domain ? 'Save' : 'Add'}</Button></>}>
      <FormError form={form} />
      <div class="admin-grid-3">
        <Field form={form} name="name" label="DNS name" required placeholder="corp.example.com" />
        <Field form={form} name="netbios" label="NetBIOS name" required maxLength={15} placeholder="CORP" />
        <Field form={form} name="upn_suffix" label="UPN suffix" hint="Default: the DNS name" />
      </div>
      <TextArea form={form} name="uris" label="Servers" required rows={2} class="mono"
        hint="One URI per line, tried in order: ldaps://dc1.corp.example.com, or ldap://… with StartTLS (plain LDAP is refused)." />
      <label class="check"><input type="checkbox" checked={v.start_tls} onChange={(e) => form.set('start_tls', e.currentTarget.checked)} /> Use StartTLS on ldap:// servers</label>
      <TextArea form={form} name="ca_pem" label="CA certificates (PEM)" required rows={4} class="mono" spellcheck={false}
        hint="The only trust for the servers' certificates (the system store is not used)." />
      <Field form={form} name="base_dn" label="Base DN" required placeholder="DC=corp,DC=example,DC=com" />
      <div class="admin-grid-2">
        <Field form={form} name="bind_dn" label="Service account DN" hint="Optional; only the connection test uses it." />
        <div>
          <SecretField form={form} name="bind_password" label="Service account password" stored={!!(domain && domain.has_bind_password && !v.clear_password)}
            hint="Stored in clear text in the database." />
          {domain && domain.has_bind_password && <label class="check"><input type="checkbox" checked={v.clear_password} onChange={(e) => form.set('clear_password', e.currentTarget.checked)} /> Clear the stored password</label>}
        </div>
      </div>
      <div class="admin-grid-2">
        <Field form={form} name="timeout_ms" label="Timeout (ms)" type="number" min="100" max="60000" />
        <label class="check"><input type="checkbox" checked={v.enabled} onChange={(e) => form.set('enabled', e.currentTarget.checked)} /> Enabled</label>
      </div>
    </Modal>
  );
}

const STAGES = ['dns', 'tcp', 'tls', 'bind', 'search'];

function TestDialog({ domain, onClose }) {
  const form = useForm({ username: '', password: '' });
  const [result, setResult] = useState(null);
  const submit = form.handle(async (f) => {
    const body = { domain: domain.name };
    if (f.username.trim()) body.username = f.username.trim();
    if (f.password) body.password = f.password;
    setResult(await api.post('/settings/ldap/test', body));
  });
  return (
    <Modal title={`Test connection to "${domain.name}"`} wide onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Close</Button><Button type="submit" variant="primary" loading={form.busy}>Test connection</Button></>}>
      <FormError form={form} />
      <p class="muted">Tries each server: DNS, TCP, TLS (certificate checked), bind and a search. The bind uses the service account when one is stored, else the user below; without either, bind and search are skipped.</p>
      <div class="admin-grid-2">
        <Field form={form} name="username" label="User name (optional)" autocomplete="off" />
        <Field form={form} name="password" label="Password (optional)" type="password" autocomplete="off" />
      </div>
      {result && (
        <div role="status" data-testid="ldap-test-result">
          <p class={result.ok ? 'admin-stage-ok' : 'admin-stage-failed'}>{result.ok ? 'Connection works.' : 'The connection failed on at least one server.'}</p>
          <table class="table">
            <thead><tr><th scope="col">Server</th>{STAGES.map((s) => <th key={s} scope="col">{s.toUpperCase()}</th>)}<th scope="col">Message</th></tr></thead>
            <tbody>
              {result.results.map((r) => (
                <tr key={r.uri}>
                  <td class="mono">{r.uri}</td>
                  {STAGES.map((s) => <td key={s} class={`admin-stage-${r.stages[s] || 'skipped'}`}>{r.stages[s] || 'skipped'}</td>)}
                  <td class="admin-wrap">{r.error ? `${r.error}: ` : ''}{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Modal>
  );
}

function MappingDialog({ groups, onClose, onDone }) {
  const form = useForm({ group_dn: '', role: 'read_only', access_group_ids: [] });
  const v = form.values;
  const submit = form.handle(async (f) => {
    await api.post('/ad-group-mappings', { group_dn: f.group_dn.trim(), role: f.role, access_group_ids: f.access_group_ids.map(Number) });
    onDone(`Mapped ${f.group_dn.trim()} to ${roleName(f.role)}.`);
  });
  return (
    <Modal title="New group mapping" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Create</Button></>}>
      <FormError form={form} />
      <Field form={form} name="group_dn" label="AD group DN" required class="mono" placeholder="CN=OT Analysts,OU=Groups,DC=corp,DC=example,DC=com"
        hint="Spelled as in the directory; nested groups count." />
      <SelectField form={form} name="role" label="Role" options={ROLES} />
      {v.role !== 'admin' && (
        <CheckGroup legend="Access groups" options={groups.map((g) => ({ value: String(g.id), label: g.name }))}
          value={v.access_group_ids} onChange={(l) => form.set('access_group_ids', l)} error={form.errors.access_group_ids} />
      )}
    </Modal>
  );
}
