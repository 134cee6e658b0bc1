// The global device map over a seeded estate with known counts (tests/integration/test_webui_map.py): the
// default view shows exactly the two sites with their counts (list view and the WebGL graph agree), a
// double-click on the canvas opens a site, the list view opens a site and then a zone into exactly its devices and
// links, a device's panel links to its page, and the view (URL state) survives going back. Needs WebGL
// (OTW_UI_WEBGL=1: SwiftShader).
// Env: OTW_MAP_EXPECT (JSON from the test: group ids, counts, device ids and IPs, link keys).
// Result: { device_url, map_url, groups, devices, links }.
import { check, login } from '../lib.mjs';

const rendered = (page) => page.evaluate(() => performance.getEntriesByName('otw:map:rendered').length);

async function waitRendered(page, n) {
  await page.waitForFunction((k) => performance.getEntriesByName('otw:map:rendered').length >= k, n, { timeout: 30000 });
}

/** The WebGL graph's nodes of a kind: { key: attributes }. */
const graphNodes = (page, kind) => page.evaluate((kd) => {
  const g = window.__otwMap.graph;
  const out = {};
  g.forEachNode((k, a) => { if (a.kind === kd) out[k] = { devices: a.devices, label: a.label }; });
  return out;
}, kind);

const graphLinks = (page) => page.evaluate(() => {
  const g = window.__otwMap.graph;
  return g.edges().map((e) => [g.source(e), g.target(e)].sort().join('|')).sort();
});

/** Viewport position of a node on the canvas (page coordinates). */
async function nodePoint(page, key) {
  const p = await page.evaluate((k) => {
    const s = window.__otwMap.sigma;
    return s.framedGraphToViewport(s.getNodeDisplayData(k));
  }, key);
  const box = await page.getByTestId('map-canvas').boundingBox();
  return { x: box.x + p.x, y: box.y + p.y };
}

/** The list view's groups table: { key: {label, devices, new, unauthorized, internal_connections} }. */
async function listGroups(page) {
  const rows = await page.getByRole('table', { name: 'Map groups' }).locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({ key: tr.dataset.key, cells: [...tr.cells].map((td) => td.innerText.trim()) })));
  const n = (s) => (s === '—' ? null : Number(s.replace(/[^0-9]/g, '')));
  const out = {};
  for (const r of rows) {
    out[r.key.slice(2)] = { label: r.cells[0], kind: r.cells[1], devices: n(r.cells[2]), new: n(r.cells[3]),
      unauthorized: n(r.cells[4]), internal_connections: n(r.cells[5]) };
  }
  return out;
}

function sameGroups(got, want, what) {
  const gk = Object.keys(got).sort();
  const wk = Object.keys(want).sort();
  check(JSON.stringify(gk) === JSON.stringify(wk), `${what}: groups ${JSON.stringify(gk)}, expected ${JSON.stringify(wk)}`);
  for (const k of wk) {
    for (const f of Object.keys(want[k])) {
      check(got[k][f] === want[k][f], `${what}: ${k} ${f} is ${JSON.stringify(got[k][f])}, expected ${JSON.stringify(want[k][f])}`);
    }
  }
}

export default async function ({ page, base, env, log }) {
  const exp = JSON.parse(env.OTW_MAP_EXPECT);
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.evaluate(() => localStorage.setItem('otwBench', '1'));
  await page.getByRole('link', { name: 'Device map' }).click();
  await page.getByRole('heading', { name: 'Device map', level: 1 }).waitFor();
  await waitRendered(page, 1);
  check(await page.evaluate(() => !!window.__otwMap), 'window.__otwMap is not exposed with localStorage.otwBench=1');

  // 1. Default view (site › zone): exactly the two sites, as WebGL nodes with their device counts.
  const sites = await graphNodes(page, 'group');
  sameGroups(sites, Object.fromEntries(Object.entries(exp.sites).map(([k, v]) => [`g:${k}`, { devices: v.devices,
    label: `${v.label} · ${v.devices} devices` }])), 'graph, default view');
  check((await graphLinks(page)).length === 0, 'the default view has links between sites');

  // 2. Double-click the South plant on the canvas: it opens into its zone; a click selects the zone.
  let n = await rendered(page);
  const south = await nodePoint(page, `g:${exp.south}`);
  await page.mouse.dblclick(south.x, south.y);
  await waitRendered(page, n + 1);
  check(page.url().includes('expand='), `double-click did not expand (${page.url()})`);
  const zones = await graphNodes(page, 'group');
  check(zones[`g:${exp.packaging}`] && zones[`g:${exp.packaging}`].devices === 3, `no Packaging zone node: ${JSON.stringify(zones)}`);
  check((await graphNodes(page, 'container'))[`g:${exp.south}`], 'the opened site is not drawn as a container');
  const pk = await nodePoint(page, `g:${exp.packaging}`);
  await page.mouse.click(pk.x, pk.y);
  const panel = page.getByRole('complementary', { name: 'Selection' });
  await panel.getByRole('heading', { name: 'Packaging' }).waitFor();
  const facts = await panel.locator('dl').innerText();
  check(/Devices\s+3/.test(facts) && /Unauthorized\s+2/.test(facts), `Packaging panel: ${facts}`);
  n = await rendered(page);
  await page.getByRole('button', { name: 'Collapse all' }).click();
  await waitRendered(page, n + 1);
  check(!page.url().includes('expand='), 'Collapse all left groups open');

  // 3. The list view says the same, exactly.
  await page.getByRole('button', { name: 'List view' }).click();
  await page.getByRole('table', { name: 'Map groups' }).waitFor();
  sameGroups(await listGroups(page), exp.sites, 'list view, default');

  // 4. Expand North plant, then Cell 1, from the list view.
  n = await rendered(page);
  await page.getByRole('button', { name: 'Expand North plant' }).click();
  await waitRendered(page, n + 1);
  await page.getByRole('button', { name: 'Expand Cell 1' }).waitFor();
  const open = await listGroups(page);
  sameGroups(open, { ...Object.fromEntries([[exp.south, exp.sites[exp.south]]]), ...exp.north_open,
    [exp.north]: { devices: 6, kind: 'Site (open)', internal_connections: null } }, 'list view, North open');
  n = await rendered(page);
  await page.getByRole('button', { name: 'Expand Cell 1' }).click();
  await waitRendered(page, n + 1);
  const devTable = page.getByRole('table', { name: 'Map devices' });
  await devTable.waitFor();
  const devs = await devTable.locator('tbody tr').evaluateAll((trs) =>
    Object.fromEntries(trs.map((tr) => [tr.dataset.key.slice(2), tr.cells[2].innerText.trim()])));
  check(JSON.stringify(devs, Object.keys(devs).sort()) === JSON.stringify(exp.cell1_devices, Object.keys(exp.cell1_devices).sort()),
    `Cell 1 devices ${JSON.stringify(devs)}, expected ${JSON.stringify(exp.cell1_devices)}`);
  const gdev = Object.keys(await graphNodes(page, 'device')).map((k) => k.slice(2)).sort();
  check(JSON.stringify(gdev) === JSON.stringify(Object.keys(exp.cell1_devices).sort()), `graph devices ${gdev}`);
  const links = await graphLinks(page);
  check(JSON.stringify(links) === JSON.stringify(exp.cell1_links), `links ${JSON.stringify(links)}, expected ${JSON.stringify(exp.cell1_links)}`);
  const linkRows = await page.getByRole('table', { name: 'Map links' }).locator('tbody tr').count();
  check(linkRows === exp.cell1_links.length, `${linkRows} rows in the links table`);

  // 5. Select the HMI in the list: its panel, and the click-through to its page.
  await devTable.getByRole('button', { name: exp.hmi.ip }).click();
  await panel.getByRole('heading', { name: exp.hmi.ip }).waitFor();
  const hf = await panel.locator('dl').innerText();
  check(/Authorized\s+no/.test(hf) && /New\s+yes/.test(hf) && /Type\s+hmi/.test(hf), `HMI panel: ${hf}`);
  const mapUrl = page.url();
  await panel.getByRole('link', { name: 'Open device page' }).click();
  await page.waitForURL((u) => u.pathname === `/devices/${exp.hmi.id}`);
  const deviceUrl = page.url();

  // 6. Back to the map: the same view from the URL; find the HMI with the search box and leave it selected.
  n = await rendered(page);
  await page.goBack();
  await page.getByRole('heading', { name: 'Device map', level: 1 }).waitFor();
  await waitRendered(page, n + 1); // marks stay across in-app navigation: the map page drew once more
  check(page.url() === mapUrl, `back gave ${page.url()}, expected ${mapUrl}`);
  check(Object.keys(await graphNodes(page, 'device')).length === 4, 'the expanded view did not come back');
  await page.getByLabel('Find a device or group on the map').fill(exp.hmi.ip);
  await page.getByRole('button', { name: 'Find', exact: true }).click();
  await panel.getByRole('heading', { name: exp.hmi.ip }).waitFor();
  await page.waitForFunction(() => !window.__otwMap.sigma.getCamera().isAnimated()); // the screenshot shows where it ends
  log('groups and devices as expected');
  return { device_url: deviceUrl, map_url: mapUrl, groups: Object.keys(open).length, devices: gdev.length, links: links.length };
}
