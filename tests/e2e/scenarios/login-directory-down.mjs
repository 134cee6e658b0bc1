// A directory account whose directory the console cannot reach: the error says the directory is unavailable and
// what to do (wait, a local account, the administrator's connection test), not "wrong password".
// Env: OTW_UI_DIR_USER (user@domain of a configured domain whose servers do not answer).
import { check } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await page.goto(base + '/login', { waitUntil: 'domcontentloaded' });
  await page.getByLabel('User name').fill(env.OTW_UI_DIR_USER);
  await page.getByLabel('Password').fill('any password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const err = page.getByTestId('login-error');
  await err.waitFor();
  const text = await err.textContent();
  check(/cannot reach your directory/.test(text), `unexpected error text: ${text}`);
  check(!/Wrong user name or password|Check the user name/.test(text), `the error blames the password: ${text}`);
  check(/try again in a few minutes/i.test(text) && /connection test/.test(text),
    `the error does not say what to do: ${text}`);
  check((await err.getAttribute('role')) === 'alert', 'the error is not announced (role=alert)');
  check(new URL(page.url()).pathname === '/login', 'left the login page');
  log('error shown:', text);
  return { text };
}
