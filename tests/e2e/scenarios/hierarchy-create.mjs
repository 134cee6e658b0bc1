// Create a site and a zone in it through the UI (admin), and see both in the tree, the zone under the site.
// Env: OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_SITE_NAME, OTW_UI_ZONE_NAME (names to create).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const siteName = env.OTW_UI_SITE_NAME;
  const zoneName = env.OTW_UI_ZONE_NAME;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sites and zones' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sites and zones' }).waitFor();

  await page.getByRole('button', { name: 'New site' }).click();
  const d1 = page.getByRole('dialog', { name: 'New site' });
  await d1.getByLabel('Name').fill(siteName);
  await d1.getByRole('button', { name: 'Create' }).click();
  await d1.waitFor({ state: 'detached' });
  const site = page.getByRole('treeitem', { name: new RegExp(siteName) }).first();
  await site.waitFor();
  check((await site.getAttribute('aria-selected')) === 'true', 'the new site is not selected');

  await page.getByRole('button', { name: 'New zone' }).click();
  const d2 = page.getByRole('dialog', { name: 'New zone' });
  const siteSelect = d2.getByLabel('Site');
  check((await siteSelect.locator('option:checked').textContent()) === `Site: ${siteName}`, 'the zone dialog did not preselect the new site');
  await d2.getByLabel('Name').fill(zoneName);
  await d2.getByRole('button', { name: 'Create' }).click();
  await d2.waitFor({ state: 'detached' });

  const siteId = (await site.getAttribute('data-id')).split(':')[1];
  const zoneItem = site.getByRole('treeitem', { name: new RegExp(zoneName) });
  await zoneItem.waitFor();
  const zoneId = (await zoneItem.getAttribute('data-id')).split(':')[1];
  await page.getByRole('heading', { level: 2, name: new RegExp(zoneName) }).waitFor(); // details of the new zone

  // Keyboard: the tree moves with the arrow keys.
  await zoneItem.focus();
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((id) => document.activeElement.getAttribute('data-id') === id, `site:${siteId}`)
    .catch(() => check(false, 'ArrowLeft did not move to the parent site'));

  const zones = await pageFetch(page, 'GET', `/api/v1/zones?site_id=${siteId}`);
  check(zones.body.items.some((z) => String(z.id) === zoneId && z.name === zoneName), 'the API does not have the zone under the site');
  log('created site', siteId, 'and zone', zoneId);
  return { site_id: Number(siteId), zone_id: Number(zoneId) };
}
