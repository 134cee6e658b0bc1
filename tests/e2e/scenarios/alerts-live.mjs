// Live updates do not move rows under the user: with the "new" list open, an alert that arrives is announced as
// "1 new alert — show" and appears only when asked for. Env: OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_ALERT_TITLE
// (an alert listed already), OTW_UI_LIVE_TITLE (the one the test inserts), OTW_UI_READY_FILE (written when the
// list is shown; the test then inserts the alert).
import { writeFileSync } from 'node:fs';
import { check, login } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/alerts');
  const table = page.getByRole('table', { name: 'Alerts' });
  await table.getByRole('link', { name: env.OTW_UI_ALERT_TITLE, exact: true }).waitFor();
  await page.getByText('Live', { exact: true }).waitFor();
  const before = await table.getByRole('row').count();
  writeFileSync(env.OTW_UI_READY_FILE, 'ready\n');
  const show = page.getByRole('button', { name: /^1 new alert — show$/ });
  await show.waitFor({ timeout: 60000 });
  check(await table.getByRole('link', { name: env.OTW_UI_LIVE_TITLE, exact: true }).count() === 0,
    'the new alert was put into the table before the user asked');
  check(await table.getByRole('row').count() === before, 'rows moved under the user');
  await show.click();
  await table.getByRole('link', { name: env.OTW_UI_LIVE_TITLE, exact: true }).waitFor();
  await show.waitFor({ state: 'detached' });
  const first = await table.getByRole('row').nth(1).getByRole('link').first().textContent();
  check(first === env.OTW_UI_LIVE_TITLE, `the newest alert is not first (${first})`);
  log('live alert shown on request');
  return { shown: true };
}
