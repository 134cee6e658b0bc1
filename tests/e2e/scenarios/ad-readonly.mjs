// Log in as a read-only Active Directory user and see no admin or triage actions (and, on the account page reached
// from the user name, no password form); a forced API call is refused.
// Env: OTW_UI_AD_USER, OTW_UI_AD_PASSWORD (mapped to read_only), OTW_UI_SITE_NAME, OTW_UI_SENSOR_NAME (in scope).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_AD_USER, env.OTW_UI_AD_PASSWORD);
  check((await page.getByTestId('role').textContent()) === 'Read-only', 'the top bar does not show the read-only role');
  const noButton = async (name) => {
    const n = await page.getByRole('button', { name }).count();
    check(n === 0, `a read-only user is offered "${name}" (${n} buttons) on ${page.url()}`);
  };

  // The user name links to the account page: a directory user sees the role and no password form.
  await page.getByTestId('user').getByRole('link', { name: env.OTW_UI_AD_USER.split('\\').pop().split('@')[0] }).click();
  await page.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
  await page.getByText('Directory users change their password in Active Directory.').waitFor();
  check(await page.getByLabel('Current password').count() === 0, 'a directory user is offered a password form');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sites and zones' }).click();
  const site = page.getByRole('treeitem', { name: new RegExp(env.OTW_UI_SITE_NAME) }).first();
  await site.waitFor();
  await site.locator('.tree-row').first().click();
  for (const name of ['New business unit', 'New region', 'New site', 'New zone', 'Rename', 'Move', 'Delete']) await noButton(name);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sensors' }).click();
  await page.getByRole('cell', { name: env.OTW_UI_SENSOR_NAME, exact: true }).waitFor();
  for (const name of ['New sensor', 'End learning', 'Learn again', 'Place', /^Revoke/]) await noButton(name);

  // The server enforces it anyway: the role may not use these routes (403), with a valid CSRF header.
  const forced = await pageFetch(page, 'POST', '/api/v1/sites', { name: 'forced' });
  check(forced.status === 403, `POST /api/v1/sites as read-only answered ${forced.status}, not 403`);
  const sensors = await pageFetch(page, 'GET', '/api/v1/sensors');
  const sensor = sensors.body.items.find((s) => s.name === env.OTW_UI_SENSOR_NAME);
  const patch = await pageFetch(page, 'PATCH', `/api/v1/sensors/${sensor.id}`, { mode: 'operational' });
  check(patch.status === 403, `PATCH /api/v1/sensors as read-only answered ${patch.status}, not 403`);
  log('read-only user sees', sensors.body.items.length, 'sensors and no actions');
  return { forced: forced.status, patch: patch.status };
}
