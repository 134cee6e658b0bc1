// Create an API token through the UI: the one-time secret dialog shows the token with a warning and a copy button;
// then revoke the token and see it marked revoked. Returns the secret so that the test can check it stopped working.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_TOKEN_NAME.
import { check, login } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const name = env.OTW_UI_TOKEN_NAME;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API tokens' }).click();
  await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
  await page.getByRole('button', { name: 'New API token' }).click();
  const cd = page.getByRole('dialog', { name: 'New API token' });
  await cd.getByLabel('Name').fill(name);
  await cd.getByLabel('Role').selectOption('read_only');
  await cd.getByRole('button', { name: 'Create token' }).click();

  const sd = page.getByRole('dialog', { name: `API token "${name}" created` });
  await sd.waitFor();
  const secret = await sd.getByLabel(/^Token/).inputValue();
  check(/^otw_[A-Za-z0-9_-]{43}$/.test(secret), `the dialog does not show an otw_ token (got "${secret}")`);
  check(await sd.getByText('it is shown only this once').isVisible(), 'the one-time warning is missing');
  check(await sd.getByRole('button', { name: 'Copy' }).isVisible(), 'the copy button is missing');
  await page.screenshot({ path: (env.OTW_UI_SCREENSHOT || '/tmp/admin-tokens.png').replace(/\.png$/, '-secret.png') });
  await sd.getByRole('button', { name: /I have stored it/ }).click();
  await sd.waitFor({ state: 'detached' });

  const row = page.getByRole('row', { name: new RegExp(name) });
  check((await row.textContent()).includes('active'), 'the new token is not listed as active');
  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  await page.getByRole('dialog', { name: `Revoke API token "${name}"?` }).getByRole('button', { name: 'Revoke' }).click();
  await row.getByText(/^revoked/).waitFor();
  check(!(await row.getByRole('button', { name: `Revoke ${name}` }).count()), 'a revoked token still offers Revoke');
  log('created and revoked', name);
  return { secret };
}
