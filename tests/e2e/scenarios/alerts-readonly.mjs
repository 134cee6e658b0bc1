// A read-only user sees the alerts and an alert's page, but no selection checkboxes, no triage buttons and no
// comment box; the API refuses a forced triage (403). Env: OTW_UI_RO_USER, OTW_UI_RO_PASSWORD,
// OTW_UI_ALERT_TITLE (a new alert in the user's scope).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const title = env.OTW_UI_ALERT_TITLE;
  await login(page, base, env.OTW_UI_RO_USER, env.OTW_UI_RO_PASSWORD);
  check((await page.getByTestId('role').textContent()) === 'Read-only', 'the top bar does not show the read-only role');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts', exact: true }).click();
  const table = page.getByRole('table', { name: 'Alerts' });
  const link = table.getByRole('link', { name: title, exact: true });
  await link.waitFor();
  const boxes = await table.getByRole('checkbox').count();
  check(boxes === 0, `a read-only user is offered ${boxes} selection checkboxes`);
  for (const name of ['Close', 'Learn', 'Mute', 'Reopen']) {
    check(await page.getByRole('button', { name, exact: true }).count() === 0, `a read-only user is offered "${name}" on the list`);
  }
  const id = Number((await link.getAttribute('href')).split('/').pop());
  await link.click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  for (const name of ['Close', 'Learn', 'Mute', 'Reopen', 'Add comment']) {
    check(await page.getByRole('button', { name, exact: true }).count() === 0, `a read-only user is offered "${name}" on the alert page`);
  }
  check(await page.getByRole('textbox').count() === 0, 'a read-only user is offered a comment box');
  // The server enforces it anyway, with the page's own session and CSRF header.
  const one = await pageFetch(page, 'POST', `/api/v1/alerts/${id}/actions`, { action: 'close' });
  check(one.status === 403, `POST /api/v1/alerts/${id}/actions as read-only answered ${one.status}, not 403`);
  const bulk = await pageFetch(page, 'POST', '/api/v1/alerts/actions', { ids: [id], action: 'learn' });
  check(bulk.status === 403, `POST /api/v1/alerts/actions as read-only answered ${bulk.status}, not 403`);
  const comment = await pageFetch(page, 'POST', `/api/v1/alerts/${id}/comments`, { comment: 'forced' });
  check(comment.status === 403, `POST /api/v1/alerts/${id}/comments as read-only answered ${comment.status}, not 403`);
  const after = await pageFetch(page, 'GET', `/api/v1/alerts/${id}`);
  check(after.status === 200 && after.body.status === 'new' && after.body.activity.length === 0, 'the forced calls changed the alert');
  // Back to the list for the screenshot: alerts without checkboxes or bulk actions.
  await page.getByRole('link', { name: 'All alerts' }).click();
  await page.getByRole('table', { name: 'Alerts' }).getByRole('link', { name: title, exact: true }).waitFor();
  log('read-only user refused on alert', id);
  return { id, action: one.status, bulk: bulk.status, comment: comment.status };
}
