// As an admin, close two new alerts at once with a comment; both leave the "new" list and the API says closed.
// Env: OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_ALERT_TITLES (two titles, comma-separated).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const titles = env.OTW_UI_ALERT_TITLES.split(',');
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/alerts');
  await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  const rows = titles.map((t) => page.getByRole('row').filter({ has: page.getByRole('link', { name: t, exact: true }) }));
  const ids = [];
  for (const [i, row] of rows.entries()) {
    await row.waitFor();
    ids.push(Number((await row.getByRole('link', { name: titles[i], exact: true }).getAttribute('href')).split('/').pop()));
    await row.getByRole('checkbox').check();
  }
  const bulk = page.getByRole('group', { name: 'Triage the selected alerts' });
  check((await bulk.textContent()).includes('2 alerts selected'), 'the bulk bar does not count two alerts');
  await bulk.getByRole('button', { name: 'Close' }).click();
  const dlg = page.getByRole('dialog', { name: 'Close 2 alerts' });
  await dlg.getByLabel('Comment (optional)').fill('scheduled maintenance, checked with the plant');
  await dlg.getByRole('button', { name: 'Close 2 alerts' }).click();
  await page.getByText('Closed 2 alerts.').waitFor();
  for (const row of rows) await row.waitFor({ state: 'detached' });
  check(await bulk.count() === 0, 'the selection survived the action');
  const status = [];
  for (const id of ids) {
    const got = await pageFetch(page, 'GET', `/api/v1/alerts/${id}`);
    check(got.status === 200 && got.body.status === 'closed', `alert ${id} is ${got.body && got.body.status}`);
    status.push(got.body.status);
  }
  // Filters live in the URL, and a saved view keeps them.
  await page.getByRole('checkbox', { name: 'Critical', exact: true }).check();
  await page.waitForURL(/severity=critical/);
  await page.getByRole('button', { name: 'Save view' }).click();
  const save = page.getByRole('dialog', { name: 'Save the current filters as a view' });
  await save.getByLabel('Name').fill('Critical, new');
  await save.getByRole('button', { name: 'Save view' }).click();
  await page.waitForURL(/view=\d+/);
  const views = await pageFetch(page, 'GET', '/api/v1/saved-views?page=alerts');
  const view = views.body.items.find((v) => v.name === 'Critical, new');
  check(view && view.query.severity === 'critical', `saved view: ${JSON.stringify(views.body)}`);
  await page.getByLabel('Saved view').locator(`option[value="${view.id}"]`).waitFor({ state: 'attached' });
  check(await page.getByLabel('Saved view').inputValue() === String(view.id), 'the saved view is not selected');
  log('closed', ids.join(', '), 'saved view', view.id);
  return { ids, status, view: view.query };
}
