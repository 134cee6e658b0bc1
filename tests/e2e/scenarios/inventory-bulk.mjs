// Bulk actions and saved views as admin: filter PLCs, select two rows, set their importance to high; save the
// filters as a shared view, and pick it again from the list after leaving it.
// Env: OTW_UI_VIEW_NAME.
import { check, login } from '../lib.mjs';
import { rowIds } from './inventory-lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/inventory?type=plc&authorized=false');
  await page.getByRole('table', { name: 'Devices' }).getByRole('link').first().waitFor();
  const ids = (await rowIds(page)).slice(0, 2);
  check(ids.length === 2, 'fewer than two unauthorized PLCs to select');
  // Row checkboxes are named for their device ("Select device <name>").
  const boxes = page.getByRole('table', { name: 'Devices' }).getByRole('checkbox', { name: /^Select device / });
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  const bulk = page.getByRole('region', { name: 'Bulk actions' });
  await bulk.getByText('2 selected').waitFor();
  await bulk.getByLabel('Importance').selectOption('high');
  await bulk.getByRole('button', { name: 'Set importance' }).click();
  await page.getByText('Set importance high on 2 devices.').waitFor();

  // Merge: the dialog explains and offers the target; cancelled here (merging is the API tests' business).
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await bulk.getByRole('button', { name: 'Merge…' }).click();
  const merge = page.getByRole('dialog', { name: 'Merge 2 devices into one' });
  await merge.getByText('A merge cannot be undone.').waitFor();
  check(await merge.getByRole('radio').first().isChecked(), 'no device is chosen to keep');
  await merge.getByRole('button', { name: 'Cancel' }).click();
  await merge.waitFor({ state: 'detached' });

  await page.getByRole('button', { name: 'Save view' }).click();
  const dlg = page.getByRole('dialog', { name: 'Save the current filters as a view' });
  await dlg.getByLabel('Name').fill(env.OTW_UI_VIEW_NAME);
  await dlg.getByRole('checkbox', { name: /Share with every user/ }).check();
  await dlg.getByRole('button', { name: 'Save view' }).click();
  await dlg.waitFor({ state: 'detached' });
  const picker = page.getByLabel('Saved view');
  await page.waitForFunction((n) => (document.getElementById('saved-view-inventory').selectedOptions[0]?.textContent || '').startsWith(n),
    env.OTW_UI_VIEW_NAME).catch(() => check(false, 'the new view is not picked'));

  await page.goto(base + '/inventory');
  await page.getByTestId('device-count').filter({ hasText: /^60 devices$/ }).waitFor();
  const value = await picker.locator('option', { hasText: env.OTW_UI_VIEW_NAME }).getAttribute('value');
  await picker.selectOption(value);
  await page.waitForURL((u) => u.searchParams.get('type') === 'plc' && u.searchParams.get('authorized') === 'false');
  await page.getByRole('table', { name: 'Devices' }).getByRole('link').first().waitFor();
  log('importance high on', ids);
  return { ids };
}
