// As an admin, learn one new alert from the alerts list: select its row, Learn, confirm; it leaves the "new" list
// at once, and the API says it is learned. Env: OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_ALERT_TITLE (a new alert
// with a baseline item).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const title = env.OTW_UI_ALERT_TITLE;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  // The default filter is status "new".
  check(await page.getByRole('checkbox', { name: 'New', exact: true }).isChecked(), 'the status filter does not default to new');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: title, exact: true }) });
  await row.waitFor();
  const href = await row.getByRole('link', { name: title, exact: true }).getAttribute('href');
  const id = Number(href.split('/').pop());
  await row.getByRole('checkbox').check();
  const bulk = page.getByRole('group', { name: 'Triage the selected alerts' });
  check((await bulk.textContent()).includes('1 alert selected'), 'the bulk bar does not count the selection');
  await bulk.getByRole('button', { name: 'Learn' }).click();
  const dlg = page.getByRole('dialog', { name: 'Learn 1 alert' });
  check((await dlg.textContent()).includes('baseline'), 'the learn dialog does not explain the baseline');
  await dlg.getByLabel('Comment (optional)').fill('expected engineering traffic');
  await dlg.getByRole('button', { name: 'Learn 1 alert' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.getByText('Learned 1 alert.').waitFor();
  // Gone from the "new" list at once, and still gone after the list is fetched again.
  await row.waitFor({ state: 'detached' });
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  await page.getByRole('table', { name: 'Alerts' }).waitFor();
  await page.locator('.table-wrap[aria-busy]').waitFor({ state: 'detached' });
  check(await page.getByRole('link', { name: title, exact: true }).count() === 0, 'the learned alert is back in the new list');
  const got = await pageFetch(page, 'GET', `/api/v1/alerts/${id}`);
  check(got.status === 200 && got.body.status === 'learned', `GET /api/v1/alerts/${id}: ${got.status} ${got.body && got.body.status}`);
  // The learned list shows it.
  await page.getByRole('checkbox', { name: 'Learned', exact: true }).check();
  await page.getByRole('link', { name: title, exact: true }).waitFor();
  log('learned alert', id);
  return { id, status: got.body.status };
}
