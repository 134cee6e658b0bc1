// Log in as an admin (local account) and see the dashboard: the shell (role, navigation), the counts matching
// the API's, the alerts chart. Also checks that the console sends its Content-Security-Policy with the page.
// Env: OTW_UI_USER, OTW_UI_PASSWORD.
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const doc = await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
  const csp = doc.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp), `the page came without the strict CSP header (got "${csp}")`);
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  check((await page.getByTestId('role').textContent()) === 'Administrator', 'the top bar does not show the admin role');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Dashboard', 'Sites and zones', 'Sensors']) {
    check(await nav.getByRole('link', { name, exact: true }).isVisible(), `navigation lacks "${name}"`);
  }
  await page.getByTestId('dashboard-stats').waitFor();
  const api = await pageFetch(page, 'GET', '/api/v1/stats/summary');
  check(api.status === 200, `GET /api/v1/stats/summary answered ${api.status}`);
  const shown = async (id) => Number((await page.getByTestId(id).locator('.stat-value').textContent()).replace(/[^0-9]/g, ''));
  check(await shown('sensors-up') === api.body.sensors.connected, 'connected sensors differ from the API');
  check(await shown('sensors-down') === api.body.sensors.disconnected, 'disconnected sensors differ from the API');
  check(await shown('devices-total') === api.body.devices.total, 'device count differs from the API');
  await page.getByRole('img', { name: 'Alerts per hour by severity' }).waitFor();
  // The live stream is up (top bar) once the EventSource opened.
  await page.locator('.live-live').waitFor();
  log('dashboard shows', api.body.sensors.total, 'sensors,', api.body.devices.total, 'devices');
  return { sensors: api.body.sensors.total };
}
