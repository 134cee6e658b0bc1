// Sensor settings of a zone: a bad subnet is answered under that subnet's input; a good one saves. Then the zone's
// sensor shows the subnet in its effective settings.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_ZONE_LABEL ("Site / Zone"), OTW_UI_SENSOR_NAME (in that zone).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sensor settings' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sensor settings' }).waitFor();
  await page.getByLabel('Settings of').selectOption({ label: `Zone: ${env.OTW_UI_ZONE_LABEL}` });
  await page.getByRole('button', { name: 'Add subnet' }).click();
  await page.getByRole('button', { name: 'Add subnet' }).click();
  await page.getByLabel('Subnet 1', { exact: true }).fill('10.1.2.0/24');
  await page.getByLabel('Subnet 2', { exact: true }).fill('10.1.3.300/24');
  await page.getByRole('button', { name: 'Add VLAN name' }).click();
  await page.getByLabel('VLAN 1 number', { exact: true }).fill('10');
  await page.getByLabel('VLAN 1 name', { exact: true }).fill('Cell 1 control');
  await page.getByRole('button', { name: 'Save settings' }).click();

  const bad = page.getByLabel('Subnet 2', { exact: true });
  await page.waitForFunction(() => document.querySelector('[aria-label="Subnet 2"]')?.getAttribute('aria-invalid') === 'true');
  const errId = await bad.getAttribute('aria-describedby');
  const msg = await page.locator(`[id="${errId}"]`).textContent();
  check(msg && msg.length > 3, 'no message under the bad subnet');
  check(!(await page.getByLabel('Subnet 1', { exact: true }).getAttribute('aria-invalid')), 'the good subnet is marked too');
  log('server said:', msg);

  await bad.fill('10.1.3.0/24');
  check(!(await bad.getAttribute('aria-invalid')), 'the error stays after editing the field');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText(/^Saved the settings of zone/).waitFor();

  const zones = await pageFetch(page, 'GET', '/api/v1/zones');
  const zname = env.OTW_UI_ZONE_LABEL.split(' / ').pop();
  const z = zones.body.items.find((x) => x.name === zname);
  const got = await pageFetch(page, 'GET', `/api/v1/zones/${z.id}/settings`);
  check(got.body.subnets.join() === '10.1.2.0/24,10.1.3.0/24' && got.body.vlan_names['10'] === 'Cell 1 control', `stored settings differ: ${JSON.stringify(got.body)}`);

  // The zone's sensor: everything inherited, and the effective settings show the zone's subnets.
  await page.getByLabel('Settings of').selectOption({ label: `Sensor: ${env.OTW_UI_SENSOR_NAME} (${env.OTW_UI_ZONE_LABEL})` });
  const eff = page.getByTestId('effective-settings');
  await eff.waitFor();
  await eff.getByText('10.1.2.0/24, 10.1.3.0/24').waitFor();
  check((await eff.textContent()).includes('10 Cell 1 control'), 'the effective settings lack the VLAN name');
  return { zone_id: z.id };
}
