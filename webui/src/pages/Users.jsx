// Users (admins): local accounts (create, role, access groups, enable/disable, reset password, delete) and the
// directory (AD) users the console has seen log in, whose role and groups come from the AD group mappings at
// each login. The server refuses to remove, disable or demote the last enabled admin (409 last_admin).
import { useMemo, useState } from 'preact/hooks';
import { CheckGroup, OnOff, ROLES, roleName } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page } from '../components/Page.jsx';
import { Table } from '../components/Table.jsx';
import { toast } from '../components/Toast.jsx';
import { api, errorText } from '../lib/api.js';
import { ago, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { useSession } from '../lib/session.js';
import '../styles/admin.css';

export const route = { path: '/users', title: 'Users', nav: { group: 'Administration', order: 10 }, ability: 'manageUsers' };

async function load(signal) {
  const [users, groups] = await Promise.all([api.all('/users', { signal }), api.all('/access-groups', { signal })]);
  return { users, groups };
}

const isLocal = (u) => u.source === 'local';

/** A sentence for a failed user change; the last-admin refusal says what to do. */
function failText(err, u, what) {
  if (err && err.status === 409 && err.code === 'last_admin') {
    return `Cannot ${what} "${u.username}": it is the last enabled administrator, and the console must keep one. Make another user an administrator first.`;
  }
  return `Cannot ${what} "${u.username}": ${errorText(err)}`;
}

export default function UsersPage() {
  const res = useApi(load);
  const me = useSession().user;
  const [dialog, setDialog] = useState(null);
  const [problem, setProblem] = useState(null);
  const d = res.data;
  const groupName = useMemo(() => {
    const m = new Map((d ? d.groups : []).map((g) => [g.id, g.name]));
    return (id) => m.get(id) || `group ${id}`;
  }, [d]);

  const run = async (u, what, fn, ok) => {
    setProblem(null);
    try {
      await fn();
      toast.ok(ok);
      res.reload();
    } catch (err) {
      setProblem(failText(err, u, what));
    }
  };
  const toggle = (u) => run(u, u.disabled ? 'enable' : 'disable', () => api.patch(`/users/${u.id}`, { disabled: !u.disabled }),
    `${u.disabled ? 'Enabled' : 'Disabled'} "${u.username}".`);
  const remove = async (u) => {
    const ok = await confirm({
      title: `Delete user "${u.username}"?`,
      message: isLocal(u) ? 'The account and its sessions are deleted. The audit log keeps its name.'
        : 'The directory user is removed here; a later login through AD creates it again (disable it to keep it out).',
      confirmLabel: 'Delete', danger: true,
    });
    if (ok) run(u, 'delete', () => api.del(`/users/${u.id}`), `Deleted "${u.username}".`);
  };

  const columns = useMemo(() => [
    { key: 'username', label: 'User', render: (u) => <><strong class="admin-nowrap">{u.username}</strong>{u.display_name && <div class="muted">{u.display_name}</div>}</> },
    { key: 'source', label: 'Account', render: (u) => <span class={`badge ${isLocal(u) ? '' : 'admin-dir'}`}>{isLocal(u) ? 'local' : 'directory'}</span> },
    { key: 'role', label: 'Role', render: (u) => roleName(u.role) },
    { key: 'groups', label: 'Access groups', render: (u) => (u.role === 'admin' ? <span class="muted">all (administrator)</span>
      : u.access_group_ids.length ? u.access_group_ids.map(groupName).join(', ') : <span class="admin-warn">none: sees nothing</span>) },
    { key: 'disabled', label: 'State', render: (u) => <OnOff on={!u.disabled} /> },
    { key: 'last_login_at', label: 'Last login', render: (u) => <span title={time(u.last_login_at)}>{ago(u.last_login_at)}</span> },
    { key: 'actions', label: 'Actions', render: (u) => (
      <span class="cell-actions">
        {isLocal(u) && <Button small onClick={() => setDialog({ type: 'edit', user: u })} aria-label={`Edit ${u.username}`}>Edit</Button>}
        {isLocal(u) && <Button small onClick={() => setDialog({ type: 'password', user: u })} aria-label={`Reset password of ${u.username}`}>Reset password</Button>}
        {u.username !== me.username && <Button small onClick={() => toggle(u)} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>{u.disabled ? 'Enable' : 'Disable'}</Button>}
        <Button small variant="danger" onClick={() => remove(u)} aria-label={`Delete ${u.username}`}>Delete</Button>
      </span>
    ) },
  ], [groupName, me]);

  const local = d ? d.users.filter(isLocal).length : 0;
  return (
    <Page title="Users" subtitle={d ? `${local} local, ${d.users.length - local} from the directory. Directory users get their role and access groups from the AD group mappings at each login.` : undefined}
      actions={<Button variant="primary" disabled={!d} onClick={() => setDialog({ type: 'edit' })}>New local user</Button>}>
      {problem && (
        <div class="form-error admin-banner" role="alert">
          <span>{problem}</span>
          <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => setProblem(null)}>×</button>
        </div>
      )}
      <Table caption="Users" columns={columns} rows={d ? d.users : null} rowKey={(u) => u.id} loading={res.loading} error={res.error}
        empty="No users." />
      {dialog && dialog.type === 'edit' && <UserDialog user={dialog.user} groups={d.groups} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); setProblem(null); toast.ok(m); res.reload(); }} />}
      {dialog && dialog.type === 'password' && <PasswordDialog user={dialog.user} onClose={() => setDialog(null)}
        onDone={(m) => { setDialog(null); toast.ok(m); }} />}
    </Page>
  );
}

function UserDialog({ user, groups, onClose, onDone }) {
  const form = useForm({
    username: user ? user.username : '', display_name: user ? user.display_name || '' : '', password: '', password2: '',
    role: user ? user.role : 'analyst', access_group_ids: user ? user.access_group_ids.map(String) : [],
  });
  const v = form.values;
  const submit = form.handle(async (x) => {
    const common = { role: x.role, access_group_ids: x.access_group_ids.map(Number), display_name: x.display_name.trim() };
    if (user) {
      try {
        await api.patch(`/users/${user.id}`, common);
      } catch (err) {
        if (err.status === 409 && err.code === 'last_admin') throw new Error(failText(err, user, 'demote'));
        throw err;
      }
      return onDone(`Saved "${user.username}".`);
    }
    if (x.password !== x.password2) {
      form.setErrors({ password2: 'The two passwords differ.' });
      return undefined;
    }
    await api.post('/users', { username: x.username.trim(), password: x.password, ...common });
    return onDone(`Created local user "${x.username.trim()}".`);
  });
  return (
    <Modal title={user ? `Edit user "${user.username}"` : 'New local user'} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>{user ? 'Save' : 'Create'}</Button></>}>
      <FormError form={form} />
      {!user && <Field form={form} name="username" label="User name" required maxLength={256} autocomplete="off" hint={'Signs in with this name (no @ or \\: those are directory logins).'} />}
      <Field form={form} name="display_name" label="Display name" maxLength={200} />
      {!user && (
        <div class="admin-grid-2">
          <Field form={form} name="password" label="Password" type="password" required autocomplete="new-password" hint="12 characters or more." />
          <Field form={form} name="password2" label="Repeat password" type="password" required autocomplete="new-password" />
        </div>
      )}
      <SelectField form={form} name="role" label="Role" options={ROLES}
        hint="Read-only views; analysts also triage, edit inventory and suppression in their scope; administrators do everything." />
      {v.role === 'admin' ? <p class="muted">Administrators see every zone: access groups do not restrict them.</p> : (
        <CheckGroup legend="Access groups" options={groups.map((g) => ({ value: String(g.id), label: g.name }))}
          value={v.access_group_ids} onChange={(l) => form.set('access_group_ids', l)} error={form.errors.access_group_ids}
          hint="What the user may see and act on. A user in no group sees nothing." />
      )}
    </Modal>
  );
}

function PasswordDialog({ user, onClose, onDone }) {
  const form = useForm({ password: '', password2: '' });
  const submit = form.handle(async (x) => {
    if (x.password !== x.password2) {
      form.setErrors({ password2: 'The two passwords differ.' });
      return;
    }
    await api.post(`/users/${user.id}/password`, { password: x.password });
    onDone(`Set a new password for "${user.username}"; their sessions were ended.`);
  });
  return (
    <Modal title={`Reset the password of "${user.username}"`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Set password</Button></>}>
      <FormError form={form} />
      <Field form={form} name="password" label="New password" type="password" required autocomplete="new-password" hint="12 characters or more." />
      <Field form={form} name="password2" label="Repeat password" type="password" required autocomplete="new-password" />
      <p class="muted">The user's sessions end at once: they sign in again with the new password.</p>
    </Modal>
  );
}
