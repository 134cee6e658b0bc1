// A wrong password shows an error that says what to do, and the form stays usable.
// Env: OTW_UI_BAD_USER (an existing local account; the scenario sends a wrong password once).
import { check } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await page.goto(base + '/sensors', { waitUntil: 'domcontentloaded' });
  await page.waitForURL(/\/login\?next=%2Fsensors$/);
  await page.getByLabel('User name').fill(env.OTW_UI_BAD_USER);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const err = page.getByTestId('login-error');
  await err.waitFor();
  const text = await err.textContent();
  check(/Wrong user name or password/.test(text), `unexpected error text: ${text}`);
  check(/try again/i.test(text) && /locked/.test(text), `the error does not say what to do: ${text}`);
  check((await err.getAttribute('role')) === 'alert', 'the error is not announced (role=alert)');
  check((await page.getByLabel('Password').inputValue()) === '', 'the password field was not cleared');
  check(new URL(page.url()).pathname === '/login', 'left the login page');
  check(await page.getByRole('button', { name: 'Sign in' }).isEnabled(), 'the sign-in button is disabled');
  log('error shown:', text);
  return { text };
}
