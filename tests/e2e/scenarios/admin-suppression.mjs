// Create an exclusion rule (zone scope, source subnet and a time window) and a maintenance window (zone scope, two
// hours from now) through the UI and see both listed; a bad address is answered under the address field.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_ZONE_LABEL ("Site / Zone"), OTW_UI_RULE_NAME, OTW_UI_WINDOW_NAME.
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const zone = `Zone: ${env.OTW_UI_ZONE_LABEL}`;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Exclusion rules' }).click();
  await page.getByRole('heading', { level: 1, name: 'Exclusion rules' }).waitFor();
  await page.getByRole('button', { name: 'New exclusion rule' }).click();
  const d = page.getByRole('dialog', { name: 'New exclusion rule' });
  await d.getByLabel('Name').fill(env.OTW_UI_RULE_NAME);
  await d.getByLabel('Scope').selectOption({ label: zone });
  await d.getByLabel('Address', { exact: true }).fill('10.9.8.7/24');
  await d.getByLabel('Address is the').selectOption('source');
  await d.getByRole('checkbox', { name: /Only within a time window/ }).check();
  await d.getByRole('checkbox', { name: 'Sat' }).check();
  await d.getByRole('checkbox', { name: 'Sun' }).check();
  await d.getByLabel('Time zone').fill('Europe/Berlin');
  await d.getByRole('button', { name: 'Create' }).click();
  // 10.9.8.7/24 has host bits: the server names address.value, shown under the Address field.
  const err = d.locator('.field.has-error').filter({ has: page.getByLabel('Address', { exact: true }) }).locator('.field-error');
  await err.waitFor();
  log('address error:', await err.textContent());
  await d.getByLabel('Address', { exact: true }).fill('10.9.8.0/24');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  const rrow = page.getByRole('row', { name: new RegExp(env.OTW_UI_RULE_NAME) });
  await rrow.waitFor();
  const rtext = await rrow.textContent();
  check(rtext.includes(zone) && rtext.includes('source 10.9.8.0/24') && rtext.includes('sat, sun'), `the rule row lacks scope or conditions: ${rtext}`);

  await nav.getByRole('link', { name: 'Maintenance windows' }).click();
  await page.getByRole('heading', { level: 1, name: 'Maintenance windows' }).waitFor();
  await page.getByRole('button', { name: 'New maintenance window' }).click();
  const w = page.getByRole('dialog', { name: 'New maintenance window' });
  await w.getByLabel('Name').fill(env.OTW_UI_WINDOW_NAME);
  await w.getByLabel('Scope').selectOption({ label: zone });
  await w.getByLabel('Duration: hours').fill('2');
  await w.getByRole('button', { name: 'Create' }).click();
  await w.waitFor({ state: 'detached' });
  const wrow = page.getByRole('row', { name: new RegExp(env.OTW_UI_WINDOW_NAME) });
  await wrow.waitFor();
  const wtext = await wrow.textContent();
  check(/active\s*until/.test(wtext) && wtext.includes(zone) && wtext.includes('2 h'), `the window row lacks state, scope or duration: ${wtext}`);
  check(await wrow.getByRole('button', { name: `End ${env.OTW_UI_WINDOW_NAME}` }).isVisible(), 'an active window offers no End now');

  const rules = await pageFetch(page, 'GET', '/api/v1/exclusion-rules');
  const wins = await pageFetch(page, 'GET', '/api/v1/maintenance-windows');
  const r = rules.body.items.find((x) => x.name === env.OTW_UI_RULE_NAME);
  const mw = wins.body.items.find((x) => x.name === env.OTW_UI_WINDOW_NAME);
  check(r && r.time_window && r.time_window.days.join() === 'sat,sun' && r.address.direction === 'source', 'the API rule differs');
  check(mw && mw.active, 'the API window is not active');
  return { rule_id: r.id, window_id: mw.id };
}
