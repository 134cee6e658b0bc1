// Create a sensor through the UI (admin) and download its activation file; the file's JSON names the sensor the
// API has. Env: OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_SENSOR_NAME (the name to create).
import { readFileSync } from 'node:fs';
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const name = env.OTW_UI_SENSOR_NAME;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sensors' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sensors' }).waitFor();
  await page.getByRole('button', { name: 'New sensor' }).click();
  const dlg = page.getByRole('dialog', { name: 'New sensor' });
  await dlg.getByLabel('Name').fill(name);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    dlg.getByRole('button', { name: /^Create/ }).click(),
  ]);
  check(download.suggestedFilename() === `${name}.activation.json`, `the download is named ${download.suggestedFilename()}`);
  const file = await download.path();
  const activation = JSON.parse(readFileSync(file, 'utf8'));
  check(activation.format === 'otwatch-activation', 'the file is not an activation document');
  check(activation.sensor_name === name, 'the activation names another sensor');
  check(typeof activation.enrollment_token === 'string' && activation.enrollment_token.length > 20, 'no enrollment token');

  const done = page.getByRole('dialog', { name: `Sensor "${name}" created` });
  check((await done.getByTestId('new-sensor-id').textContent()) === activation.sensor_id, 'the dialog shows another id');
  const api = await pageFetch(page, 'GET', `/api/v1/sensors/${activation.sensor_id}`);
  check(api.status === 200 && api.body.name === name, `GET /api/v1/sensors/${activation.sensor_id} answered ${api.status}`);
  await done.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('cell', { name, exact: true }).waitFor();
  log('activation file for', activation.sensor_id);
  return { sensor_id: activation.sensor_id, file_name: download.suggestedFilename() };
}
