// An alert's page as an admin: open it from the list, add a comment, mute it with a comment, and see both in its
// history; the evidence section says honestly that no capture was kept. Env: OTW_UI_USER, OTW_UI_PASSWORD,
// OTW_UI_ALERT_TITLE, OTW_UI_COMMENT.
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const title = env.OTW_UI_ALERT_TITLE;
  const text = env.OTW_UI_COMMENT;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/alerts');
  await page.getByRole('link', { name: title, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  const history = page.getByRole('list', { name: 'Triage history' });
  await page.getByText('No triage yet.').waitFor();

  await page.getByLabel('Comment', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Add comment' }).click();
  await history.getByText(text).waitFor();
  check((await history.textContent()).includes('commented'), 'the history does not say "commented"');
  check(await page.getByLabel('Comment', { exact: true }).inputValue() === '', 'the comment box was not cleared');

  await page.getByLabel('Comment', { exact: true }).fill('muted until the vendor visit');
  await page.getByRole('button', { name: 'Mute', exact: true }).click();
  await history.getByText('muted until the vendor visit').waitFor();
  await page.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
  check(await page.getByRole('button', { name: 'Mute', exact: true }).count() === 0, 'a muted alert still offers Mute');
  check(await history.getByRole('listitem').count() === 2, 'the history does not have two entries');
  check(await page.getByTestId('no-evidence').count() === 1, 'the page does not say that no evidence was kept');

  // A clean screenshot: the toasts covered the history.
  const dismiss = page.getByRole('button', { name: 'Dismiss' });
  for (let i = 0; i < 5 && (await dismiss.count()) > 0; i++) await dismiss.first().click({ timeout: 2000 }).catch(() => {});
  const got = await pageFetch(page, 'GET', `/api/v1/alerts/${id}`);
  const acts = got.body.activity.map((a) => `${a.action}:${a.comment}`);
  check(got.body.status === 'muted', `the alert is ${got.body.status}, not muted`);
  log('history', acts.join(' | '));
  return { id, status: got.body.status, activity: acts };
}
