// Access groups (admins): named scopes that users, AD group mappings and API tokens are given. Each scope entry
// names a business unit, region, site and/or zone; an entry covers what its fields name together (AND), and the
// entries of a group add up (OR). docs/architecture.md, "Access scope".
import { useMemo, useState } from 'preact/hooks';
import { useEstate } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, TextArea, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Table } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import '../styles/admin.css';

export const route = { path: '/access-groups', title: 'Access groups', nav: { group: 'Administration', order: 20 }, ability: 'manageUsers' };

const KEYS = ['business_unit_id', 'region_id', 'site_id', 'zone_id'];

export function entryText(e, est) {
  const parts = [];
  if (e.business_unit_id) parts.push(`business unit ${est ? est.buName(e.business_unit_id) : e.business_unit_id}`);
  if (e.region_id) parts.push(`region ${est ? est.regionName(e.region_id) : e.region_id}`);
  if (e.site_id) parts.push(`site ${est ? est.siteName(e.site_id) : e.site_id}`);
  if (e.zone_id) parts.push(`zone ${est ? est.zoneLabel(e.zone_id) : e.zone_id}`);
  return parts.join(' and ') || '(empty)';
}

export default function AccessGroupsPage() {
  const res = useApi(() => api.all('/access-groups'));
  const users = useApi(() => api.all('/users'));
  const est = useEstate();
  const [dialog, setDialog] = useState(null);

  const members = useMemo(() => {
    const m = new Map();
    for (const u of users.data || []) for (const g of u.access_group_ids) m.set(g, (m.get(g) || 0) + 1);
    return m;
  }, [users.data]);

  const remove = async (g) => {
    const n = members.get(g.id) || 0;
    if (!(await confirm({ title: `Delete access group "${g.name}"?`, message: n ? `${n} users lose the access it gives (and mappings and API tokens that name it).` : 'No user has it.', confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api.del(`/access-groups/${g.id}`);
      toast.ok(`Deleted access group "${g.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', render: (g) => <><strong>{g.name}</strong>{g.description && <div class="muted">{g.description}</div>}</> },
    { key: 'scope', label: 'Covers', render: (g) => (g.scope.length ? (
      <ul class="plain admin-entries">{g.scope.map((e, i) => <li key={i}>{entryText(e, est.data)}</li>)}</ul>
    ) : <span class="admin-warn">nothing (no entries)</span>) },
    { key: 'members', label: 'Users', align: 'right', render: (g) => (users.data ? members.get(g.id) || 0 : '…') },
    { key: 'updated_at', label: 'Changed', render: (g) => time(g.updated_at) },
    { key: 'actions', label: 'Actions', render: (g) => (
      <span class="admin-actions">
        <Button small onClick={() => setDialog({ group: g })} aria-label={`Edit ${g.name}`}>Edit</Button>
        <Button small variant="danger" onClick={() => remove(g)} aria-label={`Delete ${g.name}`}>Delete</Button>
      </span>
    ) },
  ], [est.data, members, users.data]);

  return (
    <Page title="Access groups" subtitle="What non-administrators may see and act on: users, AD group mappings and API tokens are given groups."
      actions={<Button variant="primary" disabled={!est.data} onClick={() => setDialog({})}>New access group</Button>}>
      <Table caption="Access groups" columns={columns} rows={res.data} rowKey={(g) => g.id} loading={res.loading} error={res.error}
        empty="No access groups yet. Create one per team or plant, then give it to users." />
      {dialog && <GroupDialog group={dialog.group} est={est.data} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); res.reload(); }} />}
    </Page>
  );
}

function EntryRow({ entry, i, est, onChange, onRemove, error }) {
  const set = (k, v) => onChange({ ...entry, [k]: v ? Number(v) : null });
  // Narrow each picker by the ones before it, so that an entry names things that belong together.
  const regions = est.regions.filter((r) => !entry.business_unit_id || r.business_unit_id === entry.business_unit_id);
  const siteBu = (s) => s.business_unit_id || (est.m.region.get(s.region_id) || {}).business_unit_id;
  const sites = est.sites.filter((s) => (!entry.region_id || s.region_id === entry.region_id) && (!entry.business_unit_id || siteBu(s) === entry.business_unit_id));
  const siteIds = new Set(sites.map((s) => s.id));
  const zones = est.zones.filter((z) => (entry.site_id ? z.site_id === entry.site_id : siteIds.has(z.site_id)));
  const pick = (k, label, list, text) => (
    <label class="admin-stack">
      <span>{label}</span>
      <select value={entry[k] ? String(entry[k]) : ''} onChange={(e) => set(k, e.currentTarget.value)} aria-label={`Entry ${i + 1}: ${label}`}>
        <option value="">(any)</option>
        {list.map((x) => <option key={x.id} value={String(x.id)}>{text(x)}</option>)}
      </select>
    </label>
  );
  return (
    <div class={`admin-entry${error ? ' has-error' : ''}`}>
      {pick('business_unit_id', 'Business unit', est.bus, (b) => b.name)}
      {pick('region_id', 'Region', regions, (r) => r.name)}
      {pick('site_id', 'Site', sites, (s) => s.name)}
      {pick('zone_id', 'Zone', zones, (z) => est.zoneLabel(z.id))}
      <Button small variant="ghost" onClick={onRemove} aria-label={`Remove entry ${i + 1}`}>Remove</Button>
      {error && <div class="field-error admin-entry-error">{error}</div>}
    </div>
  );
}

function GroupDialog({ group, est, onClose, onDone }) {
  const form = useForm({ name: group ? group.name : '', description: group ? group.description || '' : '' });
  const [entries, setEntries] = useState(group ? group.scope.map((e) => ({ ...e })) : [{}]);
  const [entryErr, setEntryErr] = useState({});
  const submit = form.handle(async (x) => {
    setEntryErr({});
    const scope = entries.map((e) => Object.fromEntries(KEYS.filter((k) => e[k]).map((k) => [k, e[k]])));
    const empty = scope.findIndex((e) => !Object.keys(e).length);
    if (empty >= 0) {
      setEntryErr({ [empty]: 'Choose at least one of business unit, region, site or zone, or remove the entry.' });
      return;
    }
    const body = { name: x.name.trim(), description: x.description.trim(), scope };
    try {
      if (group) await api.patch(`/access-groups/${group.id}`, body);
      else await api.post('/access-groups', body);
    } catch (err) {
      const m = err.field && /^scope\[(\d+)\]/.exec(err.field);
      if (err.status === 400 && m) {
        setEntryErr({ [Number(m[1])]: err.message });
        return;
      }
      throw err;
    }
    onDone(group ? `Saved access group "${body.name}".` : `Created access group "${body.name}".`);
  });
  return (
    <Modal title={group ? `Edit access group "${group.name}"` : 'New access group'} wide onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>{group ? 'Save' : 'Create'}</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={200} />
      <TextArea form={form} name="description" label="Description" rows={2} />
      <fieldset class="plain-fieldset">
        <legend class="admin-sub">Scope entries <span class="muted">(each covers what its choices name together; the group covers every entry)</span></legend>
        {entries.length === 0 && <p class="admin-warn">No entries: members of this group see nothing.</p>}
        {entries.map((e, i) => (
          <EntryRow key={i} i={i} entry={e} est={est} error={entryErr[i]}
            onChange={(n) => setEntries((l) => l.map((x, j) => (j === i ? n : x)))}
            onRemove={() => setEntries((l) => l.filter((_, j) => j !== i))} />
        ))}
        <Button small onClick={() => setEntries((l) => [...l, {}])}>Add entry</Button>
      </fieldset>
    </Modal>
  );
}
