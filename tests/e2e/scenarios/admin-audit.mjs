// The audit log: filter by action, see the record of an exclusion rule's creation with its "after" readable, and
// the export links carrying the filters.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_AUDIT_ACTION, OTW_UI_AUDIT_NAME (a name in that record's
// details), OTW_UI_AUDIT_EXPECT (comma-separated actions that must appear unfiltered).
import { check, login } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  const table = page.getByRole('table', { name: 'Audit records' });
  await table.getByRole('row').nth(1).waitFor();
  // Newest first, 50 a page: the actions of the other scenarios are on the first page.
  const all = await table.textContent();
  for (const a of (env.OTW_UI_AUDIT_EXPECT || '').split(',').filter(Boolean)) check(all.includes(a), `the audit log does not show ${a}`);

  const search = page.getByRole('search', { name: 'Filter the audit log' });
  await search.getByLabel('Action').fill(env.OTW_UI_AUDIT_ACTION);
  await search.getByLabel('User').fill(env.OTW_UI_USER);
  await search.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/action=/);
  const row = table.getByRole('row').filter({ hasText: env.OTW_UI_AUDIT_ACTION }).first();
  await row.waitFor();
  // Only records of that action are left.
  await table.locator(':scope > tbody > tr').filter({ hasNotText: env.OTW_UI_AUDIT_ACTION }).first().waitFor({ state: 'detached' });
  await row.locator('summary').click();
  const diff = row.locator('table.admin-diff');
  await diff.waitFor();
  check((await diff.textContent()).includes(env.OTW_UI_AUDIT_NAME), 'the details do not show the object after the change');

  const csv = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const jsonl = await page.getByRole('link', { name: 'Export JSON lines' }).getAttribute('href');
  check(csv.startsWith('/api/v1/audit-log/export?') && csv.includes(`action=${env.OTW_UI_AUDIT_ACTION}`) && csv.includes('format=csv'), `bad CSV link ${csv}`);
  check(jsonl.includes('format=jsonl'), `bad JSON lines link ${jsonl}`);
  // The link downloads with the session cookie.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const body = readFileSync(path, 'utf8');
  check(body.startsWith('id,at,username,client,action,object,details') && body.includes(env.OTW_UI_AUDIT_ACTION), 'the CSV export lacks the record');
  log('audit ok; csv', body.split('\n').length - 1, 'lines');
  return { csv_lines: body.trim().split('\n').length };
}
