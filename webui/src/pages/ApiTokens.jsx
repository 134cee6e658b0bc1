// API tokens (admins): for scripts and integrations (`Authorization: Bearer otw_...`), each with its own role and
// access groups. The secret is answered once, at creation: the dialog shows it with a copy button and a warning.
import { useMemo, useRef, useState } from 'preact/hooks';
import { CheckGroup, ROLES, roleName } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Table } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { ago, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import '../styles/admin.css';

export const route = { path: '/api-tokens', title: 'API tokens', nav: { group: 'Administration', order: 50 }, ability: 'manageUsers' };

async function load(signal) {
  const [tokens, groups] = await Promise.all([api.get('/api-tokens', { signal }), api.all('/access-groups', { signal })]);
  return { tokens: tokens.items, groups };
}

export default function ApiTokensPage() {
  const res = useApi(load);
  const [dialog, setDialog] = useState(null);
  const d = res.data;
  const groupName = useMemo(() => {
    const m = new Map((d ? d.groups : []).map((g) => [g.id, g.name]));
    return (id) => m.get(id) || `group ${id}`;
  }, [d]);

  const revoke = async (t) => {
    if (!(await confirm({ title: `Revoke API token "${t.name}"?`, message: 'Scripts using it are refused from their next request. This cannot be undone.', confirmLabel: 'Revoke', danger: true }))) return;
    try {
      await api.del(`/api-tokens/${t.id}`);
      toast.ok(`Revoked API token "${t.name}".`);
      res.reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const columns = useMemo(() => [
    { key: 'name', label: 'Name', render: (t) => <strong>{t.name}</strong> },
    { key: 'role', label: 'Role', render: (t) => roleName(t.role) },
    { key: 'groups', label: 'Access groups', render: (t) => (t.role === 'admin' ? <span class="muted">all (administrator)</span> : t.access_group_ids.map(groupName).join(', ') || <span class="admin-warn">none: sees nothing</span>) },
    { key: 'state', label: 'State', render: (t) => (t.revoked_at ? <span class="status status-off" title={time(t.revoked_at)}>revoked {ago(t.revoked_at)}</span> : <span class="status status-up">active</span>) },
    { key: 'last_used_at', label: 'Last used', render: (t) => <span title={time(t.last_used_at)}>{ago(t.last_used_at)}</span> },
    { key: 'created', label: 'Created', render: (t) => <>{time(t.created_at)}{t.created_by && <div class="muted">by {t.created_by}</div>}</> },
    { key: 'actions', label: 'Actions', render: (t) => !t.revoked_at && <Button small variant="danger" onClick={() => revoke(t)} aria-label={`Revoke ${t.name}`}>Revoke</Button> },
  ], [groupName]);

  return (
    <Page title="API tokens" subtitle="For scripts and integrations: Authorization: Bearer otw_… acts with the token's role and access groups."
      actions={<Button variant="primary" disabled={!d} onClick={() => setDialog({ type: 'create' })}>New API token</Button>}>
      <Table caption="API tokens" columns={columns} rows={d ? d.tokens : null} rowKey={(t) => t.id} loading={res.loading} error={res.error}
        empty="No API tokens." />
      {dialog && dialog.type === 'create' && <CreateDialog groups={d.groups} onClose={() => setDialog(null)}
        onCreated={(t) => { setDialog({ type: 'secret', token: t }); res.reload(); }} />}
      {dialog && dialog.type === 'secret' && <SecretDialog token={dialog.token} onClose={() => setDialog(null)} />}
    </Page>
  );
}

function CreateDialog({ groups, onClose, onCreated }) {
  const form = useForm({ name: '', role: 'read_only', access_group_ids: [] });
  const v = form.values;
  const submit = form.handle(async (f) => {
    const t = await api.post('/api-tokens', { name: f.name.trim(), role: f.role, access_group_ids: f.role === 'admin' ? [] : f.access_group_ids.map(Number) });
    onCreated(t);
  });
  return (
    <Modal title="New API token" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Create token</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={128} hint="What uses it, e.g. CMDB sync. Audited as api-token:<name>." />
      <SelectField form={form} name="role" label="Role" options={ROLES} hint="Give the least role the script needs." />
      {v.role !== 'admin' && (
        <CheckGroup legend="Access groups" options={groups.map((g) => ({ value: String(g.id), label: g.name }))}
          value={v.access_group_ids} onChange={(l) => form.set('access_group_ids', l)} error={form.errors.access_group_ids}
          hint="What the token may see. A token in no group sees nothing." />
      )}
    </Modal>
  );
}

function SecretDialog({ token, onClose }) {
  const input = useRef(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied(true);
    } catch {
      // No clipboard permission (or not a secure context): select it for Ctrl+C instead.
      input.current.select();
      toast.info('Press Ctrl+C to copy the selected token.');
    }
  };
  return (
    <Modal title={`API token "${token.name}" created`} onClose={onClose}
      footer={<Button variant="primary" onClick={onClose}>I have stored it, close</Button>}>
      <p class="notice" role="alert"><strong>Copy the token now: it is shown only this once.</strong> The console keeps only its hash and
        cannot show it again; a lost token must be revoked and replaced. Treat it like a password.</p>
      <label for="new-api-token" class="field-label">Token ({roleName(token.role)})</label>
      <div class="admin-secret">
        <input id="new-api-token" ref={input} readOnly value={token.token} data-autofocus onFocus={(e) => e.currentTarget.select()} />
        <Button onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>
      </div>
      <p class="muted">Use it as <code>Authorization: Bearer {token.token.slice(0, 8)}…</code></p>
    </Modal>
  );
}
