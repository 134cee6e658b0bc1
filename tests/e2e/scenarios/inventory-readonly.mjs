// A read_only user (scoped to site 2) sees the inventory of its scope without row selection, bulk actions or the
// device edit button; the API refuses the edit anyway (403).
// Env: OTW_UI_RO_USER, OTW_UI_RO_PASSWORD, OTW_UI_DEVICE_ID (a device in its scope).
import { check, login, pageFetch } from '../lib.mjs';
import { rowIds } from './inventory-lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_RO_USER, env.OTW_UI_RO_PASSWORD);
  await page.goto(base + '/inventory');
  const table = page.getByRole('table', { name: 'Devices' });
  await table.getByRole('link').first().waitFor();
  await page.getByTestId('device-count').filter({ hasText: /^\d+ devices?$/ }).waitFor();
  const rows = (await rowIds(page)).length;
  check((await page.getByRole('checkbox', { name: /^Select (all rows|device|row)/ }).count()) === 0, 'read_only sees row selection');
  check((await page.getByRole('region', { name: 'Bulk actions' }).count()) === 0, 'read_only sees bulk actions');
  check((await page.getByRole('button', { name: /Mark authorized|Merge/ }).count()) === 0, 'read_only sees bulk buttons');

  await page.goto(base + `/devices/${env.OTW_UI_DEVICE_ID}`);
  await page.getByRole('heading', { name: 'Addresses' }).waitFor();
  check((await page.getByRole('button', { name: 'Edit device' }).count()) === 0, 'read_only sees "Edit device"');
  await page.getByText('your role cannot read the audit log').waitFor();
  const patch = await pageFetch(page, 'PATCH', `/api/v1/devices/${env.OTW_UI_DEVICE_ID}`, { name: 'nope' });
  log('rows', rows, 'patch', patch.status);
  return { rows, patch: patch.status };
}
