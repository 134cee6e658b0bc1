// Open a device from the inventory (its row link, after searching for its address), see its addresses, protocols
// and the function codes seen on its connections, its DPI event; then edit its name as admin and see it. Its
// "Open in the alerts list" link shows exactly its alerts (every status) under a removable "Device: <name>" chip.
// Env: OTW_UI_DEVICE_ID, OTW_UI_DEVICE_IP, OTW_UI_NEW_NAME.
import { check, login, pageFetch } from '../lib.mjs';
import { waitRows } from './inventory-lib.mjs';

export default async function ({ page, base, env, log }) {
  const id = Number(env.OTW_UI_DEVICE_ID);
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/inventory');
  await page.getByRole('searchbox', { name: 'Search' }).fill(env.OTW_UI_DEVICE_IP);
  await waitRows(page, [id], `search ${env.OTW_UI_DEVICE_IP}`);
  const before = (await pageFetch(page, 'GET', `/api/v1/devices/${id}`)).body;
  await page.getByRole('table', { name: 'Devices' }).getByRole('link').first().click();
  await page.waitForURL(`**/devices/${id}`);
  await page.getByRole('heading', { level: 1 }).filter({ hasText: before.hostname || before.ips[0] }).waitFor();

  const addresses = page.locator('section.panel', { has: page.getByRole('heading', { name: 'Addresses' }) });
  await addresses.getByText(env.OTW_UI_DEVICE_IP, { exact: true }).waitFor();
  await addresses.getByText(before.macs[0], { exact: true }).waitFor();
  const protocols = page.getByRole('table', { name: 'Protocols' });
  for (const p of before.protocols) await protocols.getByRole('cell', { name: p.name, exact: true }).waitFor();
  await protocols.getByText('Read Holding Registers').waitFor();
  await protocols.getByText('Write Multiple Registers').waitFor();
  await page.getByRole('table', { name: 'Connections' }).getByRole('row').nth(1).waitFor();
  await page.getByText('plc_stop').first().waitFor();

  await page.getByRole('button', { name: 'Edit device' }).click();
  const dlg = page.getByRole('dialog', { name: 'Edit device' });
  // A bad value shows under the field the server names.
  await dlg.getByLabel('Tags').fill('x'.repeat(65));
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.locator('.field-error').first().waitFor();
  await dlg.getByLabel('Tags').fill('boiler, line-2');
  await dlg.getByLabel('Name', { exact: true }).fill(env.OTW_UI_NEW_NAME);
  await dlg.getByLabel('Vendor', { exact: true }).fill('Rockwell (verified)');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name: env.OTW_UI_NEW_NAME }).waitFor();
  // The override shows as such, with the reported value beside it.
  const identity = page.locator('section.panel', { has: page.getByRole('heading', { name: 'Identity' }) });
  await identity.getByText('Rockwell (verified)').waitFor();
  await identity.getByText('overridden').waitFor();
  await identity.getByText(`reported: ${before.vendor}`).waitFor();
  // The edit is in the timeline (admins read the audit log).
  await page.getByText(/changed .*name/).first().waitFor();
  const after = (await pageFetch(page, 'GET', `/api/v1/devices/${id}`)).body;
  check(after.name === env.OTW_UI_NEW_NAME, `the API has name ${after.name}`);
  check(JSON.stringify(after.tags) === JSON.stringify(['boiler', 'line-2']), `the API has tags ${JSON.stringify(after.tags)}`);

  // Its alerts: the ones whose source or destination is the device (read from the unfiltered list here), in its
  // Alerts panel and, through the panel's link, in the alerts list under a "Device: <name>" filter chip.
  const all = (await pageFetch(page, 'GET', '/api/v1/alerts?limit=1000')).body.items;
  const hits = (a) => (a.src && a.src.device_id === id) || (a.dst && a.dst.device_id === id);
  const expected = all.filter(hits).map((a) => a.id).sort((x, y) => x - y);
  const alertsPanel = page.locator('section.panel', { has: page.getByRole('heading', { name: 'Alerts', exact: true }) });
  if (expected.length) await alertsPanel.locator('li').nth(Math.min(expected.length, 50) - 1).waitFor();
  else await alertsPanel.getByText('No alerts involve this device.').waitFor();
  check(await alertsPanel.locator('li').count() === Math.min(expected.length, 50), 'the Alerts panel lists other alerts');
  await alertsPanel.getByRole('link', { name: 'Open in the alerts list' }).click();
  await page.waitForURL((u) => u.pathname === '/alerts' && u.searchParams.get('device_id') === String(id)
    && u.searchParams.get('status') === 'all');
  await page.getByTestId('device-filter').filter({ hasText: `Device: ${env.OTW_UI_NEW_NAME}` }).waitFor();
  if (expected.length) {
    await page.waitForFunction((n) => document.querySelectorAll('table a.alert-title').length === n, expected.length)
      .catch(() => check(false, `the alerts list does not show ${expected.length} alerts`));
  } else {
    await page.getByText('No alerts match these filters.').waitFor();
  }
  const shown = (await page.getByRole('table', { name: 'Alerts' }).locator('a.alert-title')
    .evaluateAll((as) => as.map((a) => Number(a.getAttribute('href').split('/').pop())))).sort((x, y) => x - y);
  check(JSON.stringify(shown) === JSON.stringify(expected), `the alerts list shows ${shown}, expected ${expected}`);
  await page.screenshot({ path: (env.OTW_UI_SCREENSHOT || '/tmp/inventory-device.png').replace(/\.png$/, '-alerts.png') });
  await page.getByRole('button', { name: 'Remove the device filter' }).click();
  await page.waitForURL((u) => u.pathname === '/alerts' && !u.searchParams.has('device_id'));
  // Back to the device for the screenshot.
  await page.goto(`${base}/devices/${id}`);
  await page.getByRole('heading', { level: 1, name: env.OTW_UI_NEW_NAME }).waitFor();
  log('edited', id, 'alerts', expected.length);
  return { id };
}
