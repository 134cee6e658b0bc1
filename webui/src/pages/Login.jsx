// Sign-in for local and directory (Active Directory) accounts: the same form; user@domain or DOMAIN\user is a
// directory account. Errors say what to do next. The console answers every refusal (wrong password, locked
// account, unknown or disabled directory user) with the same 401 so as not to help a guesser; the text below
// therefore names the possibilities. A directory the console cannot use (no server reachable, certificate refused)
// is a 503 directory_unavailable: no password can help then.
import { useEffect, useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { Field, useForm } from '../components/Form.jsx';
import { ApiError } from '../lib/api.js';
import { login, useSession } from '../lib/session.js';

export const route = { path: '/login', title: 'Sign in', public: true };

const isDirectory = (u) => u.includes('@') || u.includes('\\');

function explain(err, username) {
  if (!(err instanceof ApiError)) return { text: String(err.message || err) };
  if (err.status === 401 || err.code === 'invalid_credentials') {
    return {
      text: isDirectory(username)
        ? 'Sign-in refused. Check the user name (user@domain or DOMAIN\\user) and the directory password; ' +
          'the account must be enabled and in a group mapped to an OTWatch role. If this keeps failing, ' +
          'ask an OTWatch administrator whether the domain is configured and its server is reachable.'
        : 'Wrong user name or password. Check them (and Caps Lock) and try again. After 5 failed attempts the ' +
          'account is locked for a while; wait, or ask an administrator to reset your password.',
    };
  }
  if (err.status === 503 && err.code === 'directory_unavailable') {
    return {
      text: 'The console cannot reach your directory (Active Directory) right now, so it could not check your ' +
        'password; trying again with another password will not help. Try again in a few minutes, sign in with ' +
        'a local OTWatch account if you have one, or ask an OTWatch administrator to run the connection test ' +
        'under Directory settings.',
    };
  }
  if (err.status === 429) return { retry: err.retryAfter || 60 };
  if (err.status === 0) return { text: 'The console did not answer. Check your network connection and try again.' };
  if (err.status === 503) return { text: 'The console cannot reach its database right now. Try again in a minute; if it persists, tell the console administrator.' };
  if (err.status === 400) return { text: `The console refused the request: ${err.message}` };
  return { text: `Sign-in failed (${err.status} ${err.code}). Try again; if it persists, tell the console administrator.` };
}

export default function LoginPage() {
  const s = useSession();
  const form = useForm({ username: '', password: '' });
  const [problem, setProblem] = useState(null);
  const [wait, setWait] = useState(0);

  useEffect(() => {
    document.title = 'Sign in · OTWatch';
  }, []);
  useEffect(() => {
    if (wait <= 0) return undefined;
    const t = setTimeout(() => setWait(wait - 1), 1000);
    return () => clearTimeout(t);
  }, [wait]);

  const submit = async (ev) => {
    ev.preventDefault();
    setProblem(null);
    const v = form.values;
    if (!v.username.trim() || !v.password) {
      form.setErrors({ username: v.username.trim() ? null : 'Enter your user name.', password: v.password ? null : 'Enter your password.' });
      return;
    }
    await form.handle(async () => {
      try {
        await login(v.username.trim(), v.password);
      } catch (err) {
        const p = explain(err, v.username);
        if (p.retry) setWait(p.retry);
        setProblem(p);
        form.set('password', '');
      }
    })();
  };

  const retryText = wait > 0
    ? `Too many failed sign-ins from this computer. Wait ${wait} s, then try again.`
    : 'You can try again now.';
  return (
    <div class="login">
      <main class="login-card">
        <h1>OTWatch</h1>
        <p class="muted">Sign in with your OTWatch account or your directory account (user@domain or DOMAIN\user).</p>
        {s.expired && !problem && <div class="notice" role="status">Your session ended. Sign in again to continue.</div>}
        {problem && (
          <div class="form-error" role="alert" data-testid="login-error">
            {problem.retry ? retryText : problem.text}
          </div>
        )}
        <form onSubmit={submit} noValidate>
          <Field form={form} name="username" label="User name" autocomplete="username" autocapitalize="none" spellcheck={false} required autoFocus />
          <Field form={form} name="password" label="Password" type="password" autocomplete="current-password" required />
          <Button type="submit" variant="primary" loading={form.busy} disabled={wait > 0}>Sign in</Button>
        </form>
      </main>
    </div>
  );
}
