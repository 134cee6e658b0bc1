// Filter the inventory by type (PLC) and by a search for an IP prefix: exactly the expected rows and count show,
// and the filters are in the URL.
// Env: OTW_UI_PLC_IDS (comma list), OTW_UI_PREFIX (e.g. "10.1."), OTW_UI_PREFIX_IDS (comma list).
import { check, login } from '../lib.mjs';
import { idList, waitCount, waitRows } from './inventory-lib.mjs';

export default async function ({ page, base, env, log }) {
  const plcs = idList(env.OTW_UI_PLC_IDS);
  const prefixed = idList(env.OTW_UI_PREFIX_IDS);
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inventory', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Inventory' }).waitFor();
  await waitCount(page, '60 devices');

  await page.getByText('Any type').click();
  await page.getByRole('checkbox', { name: 'PLC', exact: true }).check();
  await waitRows(page, plcs, 'type PLC');
  await waitCount(page, `${plcs.length} devices match these filters`);
  check(new URL(page.url()).searchParams.get('type') === 'plc', `the URL does not keep the type: ${page.url()}`);
  await page.getByRole('checkbox', { name: 'PLC', exact: true }).uncheck();
  await page.keyboard.press('Escape');
  await waitCount(page, '60 devices');
  // Popovers (the type filter, the column chooser) close on Escape with focus back on their button, and on a click
  // outside them.
  const open = (sel) => page.evaluate((s) => document.querySelector(s).open, sel);
  const focusIn = (sel) => page.evaluate((s) => document.activeElement === document.querySelector(s), sel);
  check(!(await open('details.inv-types')) && await focusIn('details.inv-types > summary'), 'Escape left the type filter open');
  const columns = page.locator('details.column-chooser > summary');
  await columns.click();
  await page.getByRole('checkbox', { name: 'Vendor', exact: true }).focus();
  await page.keyboard.press('Escape');
  check(!(await open('details.column-chooser')) && await focusIn('details.column-chooser > summary'), 'Escape left the column chooser open');
  await columns.click();
  check(await open('details.column-chooser'), 'the column chooser does not open');
  await page.getByRole('heading', { level: 1, name: 'Inventory' }).click();
  check(!(await open('details.column-chooser')), 'a click outside left the column chooser open');

  await page.getByRole('searchbox', { name: 'Search' }).fill(env.OTW_UI_PREFIX);
  await waitRows(page, prefixed, `search ${env.OTW_UI_PREFIX}`);
  await waitCount(page, `${prefixed.length} devices match these filters`);
  check(new URL(page.url()).searchParams.get('q') === env.OTW_UI_PREFIX, `the URL does not keep the search: ${page.url()}`);
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  check(href.includes('format=csv') && href.includes(`q=${encodeURIComponent(env.OTW_UI_PREFIX)}`), `the export link lacks the filters: ${href}`);

  // Nothing matches: the empty state says so and offers to clear the filters.
  await page.getByRole('searchbox', { name: 'Search' }).fill('no-such-device-anywhere');
  await page.getByText('No devices match these filters.').waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await waitCount(page, '60 devices');
  await page.getByRole('searchbox', { name: 'Search' }).fill(env.OTW_UI_PREFIX);
  await waitRows(page, prefixed, `search ${env.OTW_UI_PREFIX} again`);
  log('type', plcs.length, 'prefix', prefixed.length);
  return { plc: plcs.length, prefix: prefixed.length };
}
