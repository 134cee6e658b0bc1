// The signed-in user's account: who they are, and changing the password of a local account
// (POST /auth/password; the user's other sessions end, this one stays). Directory (AD) users change their password
// in the directory. Reached by link (/account), not from the navigation.
import { useState } from 'preact/hooks';
import { roleName } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { Field, FormError, useForm } from '../components/Form.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { toast } from '../components/Toast.jsx';
import { api } from '../lib/api.js';
import { useSession } from '../lib/session.js';
import '../styles/admin.css';

export const route = { path: '/account', title: 'My account' };

/** Directory logins are user@domain (canonical form; DOMAIN\user at login); API tokens are api-token:<name>. */
const isLocalName = (u) => !/[@\\]/.test(u) && !u.startsWith('api-token:');

export default function AccountPage() {
  const s = useSession();
  const u = s.user;
  const [done, setDone] = useState(false);
  const form = useForm({ current_password: '', new_password: '', new_password2: '' });
  const submit = form.handle(async (v) => {
    if (v.new_password !== v.new_password2) {
      form.setErrors({ new_password2: 'The two new passwords differ.' });
      return;
    }
    if (v.new_password === v.current_password) {
      form.setErrors({ new_password: 'Choose a password different from the current one.' });
      return;
    }
    try {
      await api.post('/auth/password', { current_password: v.current_password, new_password: v.new_password });
    } catch (err) {
      if (err.status === 409) throw new Error('This account has no password here: directory (AD) users change their password in the directory.');
      throw err;
    }
    form.reset();
    setDone(true);
    toast.ok('Password changed. Your other sessions were signed out.');
  });
  return (
    <Page title="My account">
      <div class="admin-grid-2">
        <Panel title="Signed in as">
          <dl class="facts">
            <dt>User</dt><dd>{u.username}</dd>
            <dt>Role</dt><dd>{roleName(u.role)}</dd>
            <dt>Account</dt><dd>{isLocalName(u.username) ? 'local' : 'directory (Active Directory)'}</dd>
          </dl>
        </Panel>
        <Panel title="Change password">
          {isLocalName(u.username) ? (
            <form onSubmit={submit} noValidate>
              <FormError form={form} />
              {done && <p class="muted" role="status">Your password was changed.</p>}
              <Field form={form} name="current_password" label="Current password" type="password" required autocomplete="current-password" />
              <Field form={form} name="new_password" label="New password" type="password" required autocomplete="new-password" hint="12 characters or more." />
              <Field form={form} name="new_password2" label="Repeat the new password" type="password" required autocomplete="new-password" />
              <div class="form-actions"><Button type="submit" variant="primary" loading={form.busy}>Change password</Button></div>
            </form>
          ) : <p class="muted">Directory users change their password in Active Directory.</p>}
        </Panel>
      </div>
    </Page>
  );
}
