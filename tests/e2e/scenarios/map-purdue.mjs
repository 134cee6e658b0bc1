// The device map grouped and laid out by Purdue level, opened from a link with a filter in its URL: exactly the
// expected level groups with the filter and without it (list view and WebGL graph), the links between levels
// with their connection counts, and level bands drawn top to bottom (Level 3 above Level 1) once levels are
// opened into devices. Needs WebGL (OTW_UI_WEBGL=1). Env: OTW_MAP_EXPECT (tests/integration/test_webui_map.py).
// Result: { map_url }.
import { check, login } from '../lib.mjs';

const marks = (page) => page.evaluate(() => performance.getEntriesByName('otw:map:rendered').length);
const waitRendered = (page, n) =>
  page.waitForFunction((k) => performance.getEntriesByName('otw:map:rendered').length >= k, n, { timeout: 30000 });

async function listGroups(page) {
  const rows = await page.getByRole('table', { name: 'Map groups' }).locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({ key: tr.dataset.key, cells: [...tr.cells].map((td) => td.innerText.trim()) })));
  const n = (s) => (s === '—' ? null : Number(s.replace(/[^0-9]/g, '')));
  return Object.fromEntries(rows.map((r) => [r.key.slice(2), { label: r.cells[0], devices: n(r.cells[2]), new: n(r.cells[3]),
    unauthorized: n(r.cells[4]), internal_connections: n(r.cells[5]) }]));
}

function same(got, want, what) {
  const g = JSON.stringify(got, Object.keys(got).sort());
  check(JSON.stringify(Object.keys(got).sort()) === JSON.stringify(Object.keys(want).sort()),
    `${what}: ${JSON.stringify(Object.keys(got).sort())}, expected ${JSON.stringify(Object.keys(want).sort())}`);
  for (const k of Object.keys(want)) {
    for (const f of Object.keys(want[k])) check(got[k][f] === want[k][f], `${what}: ${k} ${f} is ${got[k][f]}, expected ${want[k][f]} (${g})`);
  }
}

export default async function ({ page, base, env, log }) {
  const exp = JSON.parse(env.OTW_MAP_EXPECT);
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.evaluate(() => localStorage.setItem('otwBench', '1'));
  await page.goto(`${base}/map?group_by=purdue_level&layout=purdue&authorized=false`);
  await page.getByRole('heading', { name: 'Device map', level: 1 }).waitFor();
  await waitRendered(page, 1);
  check(await page.getByLabel('Group by').inputValue() === 'purdue_level', 'the group-by control does not show the URL');
  check(await page.getByLabel('Layout').inputValue() === 'purdue', 'the layout control does not show the URL');
  check(await page.getByLabel('Authorized').inputValue() === 'false', 'the authorized filter does not show the URL');

  await page.getByRole('button', { name: 'List view' }).click();
  same(await listGroups(page), exp.purdue_unauthorized, 'unauthorized only');

  // Drop the filter: every level.
  let n = await marks(page);
  await page.getByLabel('Authorized').selectOption('');
  await waitRendered(page, n + 1);
  await page.waitForFunction(() => !location.search.includes('authorized'));
  same(await listGroups(page), exp.purdue, 'all devices');
  const links = await page.evaluate(() => {
    const g = window.__otwMap.graph;
    return Object.fromEntries(g.edges().map((e) => [[g.source(e), g.target(e)].sort().join('|'), g.getEdgeAttribute(e, 'connections')]));
  });
  check(JSON.stringify(links, Object.keys(links).sort()) === JSON.stringify(exp.purdue_links, Object.keys(exp.purdue_links).sort()),
    `links ${JSON.stringify(links)}, expected ${JSON.stringify(exp.purdue_links)}`);

  // Open Level 1 and Level 3 into devices; back on the canvas, Level 3's devices are above Level 1's.
  for (const lv of ['1', '3']) {
    n = await marks(page);
    await page.getByRole('button', { name: `Expand Level ${lv}` }).click();
    await waitRendered(page, n + 1);
  }
  await page.getByRole('table', { name: 'Map devices' }).waitFor();
  await page.getByRole('button', { name: 'List view' }).click();
  await page.getByTestId('map-canvas').waitFor();
  // The canvas was hidden while the graph changed: wait until sigma has its size again.
  await page.waitForFunction(() => {
    const s = window.__otwMap.sigma;
    const c = s.getContainer();
    const d = s.getDimensions();
    return c.offsetHeight > 0 && d.width === c.offsetWidth && d.height === c.offsetHeight;
  });
  const pos = await page.evaluate(() => {
    const s = window.__otwMap.sigma;
    const g = window.__otwMap.graph;
    const out = { bands: 0, dev: {} };
    g.forEachNode((k, a) => {
      if (a.kind === 'band') out.bands++;
      if (a.kind === 'device') out.dev[k.slice(2)] = s.framedGraphToViewport(s.getNodeDisplayData(k)).y;
    });
    return out;
  });
  check(pos.bands === 7, `${pos.bands} Purdue bands drawn, expected 7`);
  check(JSON.stringify(Object.keys(pos.dev).sort()) === JSON.stringify([...exp.level1_devices, ...exp.level3_devices].sort()),
    `devices on the map: ${Object.keys(pos.dev)}`);
  const lowest3 = Math.max(...exp.level3_devices.map((d) => pos.dev[d]));
  const highest1 = Math.min(...exp.level1_devices.map((d) => pos.dev[d]));
  check(lowest3 < highest1, `Level 3 devices (y up to ${lowest3}) are not above Level 1 devices (y from ${highest1})`);
  log('purdue bands and filters as expected');
  return { map_url: page.url() };
}
