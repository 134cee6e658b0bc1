// Create a syslog forwarding rule (CEF over TCP, major and above, one engine) through the UI and see it listed with
// its delivery status; the edit dialog shows the stored conditions.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_RULE_NAME, OTW_UI_SYSLOG_PORT.
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const name = env.OTW_UI_RULE_NAME;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forwarding' }).click();
  await page.getByRole('heading', { level: 1, name: 'Forwarding' }).waitFor();
  await page.getByRole('button', { name: 'New forwarding rule' }).click();
  const d = page.getByRole('dialog', { name: 'New forwarding rule' });
  await d.getByLabel('Name').fill(name);
  await d.getByLabel('Minimum severity').selectOption('major');
  await d.getByRole('checkbox', { name: 'Protocol violation' }).check();
  await d.getByLabel('Send by').selectOption('syslog');
  await d.getByLabel('Format').selectOption('cef');
  await d.getByLabel('Transport').selectOption('tcp');
  await d.getByLabel('Collector host').fill('127.0.0.1');
  await d.getByLabel(/^Port/).fill(env.OTW_UI_SYSLOG_PORT);
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });

  const row = page.getByRole('row', { name: new RegExp(name) });
  await row.waitFor();
  const text = await row.textContent();
  check(text.includes(`syslog CEF over TCP to 127.0.0.1:${env.OTW_UI_SYSLOG_PORT}`), `the destination is not shown: ${text}`);
  check(text.includes('major and above') && text.includes('protocol_violation'), `the conditions are not shown: ${text}`);
  const status = row.getByTestId(/^fw-status-/);
  await status.waitFor();
  check(/backlog\s*\d+/.test(await status.textContent()), 'the delivery status (backlog) is not shown');

  await row.getByRole('button', { name: `Edit ${name}` }).click();
  const ed = page.getByRole('dialog', { name: `Edit forwarding rule "${name}"` });
  check((await ed.getByLabel('Minimum severity').inputValue()) === 'major', 'the edit dialog lost min_severity');
  check(await ed.getByRole('checkbox', { name: 'Protocol violation' }).isChecked(), 'the edit dialog lost the engine');
  await ed.getByRole('button', { name: 'Cancel' }).click();

  const rules = await pageFetch(page, 'GET', '/api/v1/forwarding-rules');
  const r = rules.body.items.find((x) => x.name === name);
  check(r && r.action.type === 'syslog' && r.action.transport === 'tcp' && r.engines.join() === 'protocol_violation', 'the API does not have the rule as created');
  log('created forwarding rule', r.id);
  return { rule_id: r.id };
}
