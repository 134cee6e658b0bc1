// `scripts/bench ui`: the web UI over a large estate, in headless Debian chromium (WebGL through SwiftShader),
// driven by playwright-core. Started by scripts/lib/bench_ui.sh with a console on a seeded database.
// Environment: OTW_UI_URL, OTW_UI_USER, OTW_UI_PASSWORD, OTW_UI_WEBGL=1, OTW_BENCH_CURL (the curl baselines as
// JSON), OTW_BENCH_DEVICES, OTW_BENCH_SITES. Prints a line per measurement and, last, one JSON object.
//
// Figures (median of OTW_BENCH_RUNS, default 3):
//   inventory_server_ms   the console's own time for the inventory's first page (Server-Timing `app`)
//   inventory_ttd_ms      navigation start to the first page of devices on screen (the assets cached)
//   filter_round_trip_ms  a filter applied (the URL changes in the page) to the new rows on screen
//   map_first_render_ms   navigation start to the map's first WebGL render (performance mark otw:map:rendered)
//   map_pan_fps           frames the map rendered per second while mouse events drag it for 3 s (sigma afterRender),
//                         the events dispatched in the page every 4 ms; map_pan_frame_clock_hz, the browser's frame
//                         clock (rAF ticks) meanwhile, is its ceiling
//   map_pan_fps_cdp_mouse the same with playwright's mouse, capped by the driver's round trips per move
//   transfer              bytes over the wire for a first visit (no cache): the app's files, and the API answers
import { launch, login } from '../../tests/e2e/lib.mjs';

const env = process.env;
const base = env.OTW_UI_URL;
const runs = Number(env.OTW_BENCH_RUNS || 3);
const curl = JSON.parse(env.OTW_BENCH_CURL || '{}');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

// Resource timing of the last request whose URL contains `part` and is not the page's parallel count request
// (count=true): its Server-Timing `app` duration and its request-to-response-end time.
async function apiTiming(page, part) {
  return page.evaluate((p) => {
    const e = performance.getEntriesByType('resource')
      .filter((r) => r.name.includes(p) && !r.name.includes('count=true')).pop();
    if (!e) return null;
    const app = (e.serverTiming || []).find((s) => s.name === 'app');
    return { server: app ? app.duration : null, total: e.responseEnd - e.requestStart };
  }, part);
}

// Waits until the main region has rows of data and has not changed for `quiet` ms; returns the time of its last
// change (performance.now() of the page).
async function settled(page, quiet = 400) {
  return page.evaluate(
    (q) =>
      new Promise((resolve, reject) => {
        // The table's rows, not the whole page: the count arriving later is not the rows on screen.
        const main = document.querySelector('main table tbody') || document.querySelector('main') || document.body;
        let last = performance.now();
        const obs = new MutationObserver(() => { last = performance.now(); });
        obs.observe(main, { childList: true, subtree: true, characterData: true, attributes: true });
        const start = performance.now();
        const tick = () => {
          const rows = main.querySelectorAll('tr').length;
          if (rows > 0 && performance.now() - last >= q) {
            obs.disconnect();
            resolve(last);
          } else if (performance.now() - start > 60000) {
            obs.disconnect();
            reject(new Error('the page never settled with rows'));
          } else {
            setTimeout(tick, 50);
          }
        };
        tick();
      }),
    quiet,
  );
}

async function inventory(page) {
  const ttd = [], server = [], filter = [], fserver = [];
  for (let i = 0; i < runs; i++) {
    await page.goto(base + '/inventory?sort=last_seen&order=desc', { waitUntil: 'commit' });
    ttd.push(await settled(page));
    const t = await apiTiming(page, '/api/v1/devices?');
    if (t && t.server != null) server.push(t.server);
    // A filter round trip: the URL changes inside the app, as the filter bar does. The page's request (not the
    // count) is awaited, armed before the change so that a fast answer is not missed.
    const answered = page.waitForResponse((r) => r.url().includes('/api/v1/devices?') && r.url().includes('type=plc')
      && !r.url().includes('count=true'));
    const t0 = await page.evaluate(() => {
      const t = performance.now();
      history.pushState(null, '', '/inventory?sort=last_seen&order=desc&type=plc');
      dispatchEvent(new PopStateEvent('popstate'));
      return t;
    });
    await answered;
    filter.push((await settled(page)) - t0);
    const f = await apiTiming(page, 'type=plc');
    if (f && f.server != null) fserver.push(f.server);
  }
  return { ttd: median(ttd), server: server.length ? median(server) : null, filter: median(filter),
    fserver: fserver.length ? median(fserver) : null };
}

async function map(page) {
  const first = [], server = [];
  let fps = null, frames = null, files = null;
  await page.evaluate(() => localStorage.setItem('otwBench', '1'));
  for (let i = 0; i < runs; i++) {
    await page.goto(base + '/map', { waitUntil: 'commit' });
    await page.waitForFunction(() => performance.getEntriesByName('otw:map:rendered').length > 0, null,
      { timeout: 60000 });
    first.push(await page.evaluate(() => performance.getEntriesByName('otw:map:rendered')[0].startTime));
    const t = await apiTiming(page, '/api/v1/map');
    if (t && t.server != null) server.push(t.server);
    if (i === 0)
      files = await page.evaluate(() => performance.getEntriesByType('resource')
        .filter((r) => !new URL(r.name).pathname.startsWith('/api/')).reduce((n, r) => n + r.transferSize, 0));
  }
  // Panning, twice, counting the frames sigma renders (afterRender) in 3 s of dragging the canvas:
  // - with the browser's own mouse (CDP Input events): each move is a round trip to the driver, so this is capped
  //   by how fast playwright can send them (about one per frame at 30 Hz here), not by the map;
  // - with mouse events dispatched in the page every 4 ms (far more often than frames), so that only rendering
  //   and the browser's frame clock limit it: the figure the target is about. The frame clock's own rate (rAF
  //   ticks in the same window) is reported beside it as the ceiling.
  const box = await page.locator('canvas').first().boundingBox();
  await page.evaluate(() => {
    window.__otwFrames = 0;
    window.__otwMap.sigma.on('afterRender', () => { window.__otwFrames++; });
  });
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const t0 = Date.now();
  let k = 0;
  while (Date.now() - t0 < 3000) {
    k++;
    await page.mouse.move(cx + 150 * Math.sin(k / 10), cy + 100 * Math.cos(k / 13));
  }
  await page.mouse.up();
  const secs = (Date.now() - t0) / 1000;
  const cdpFrames = await page.evaluate(() => window.__otwFrames);
  const cdp = { fps: cdpFrames / secs, frames: cdpFrames, moves: k };
  await page.waitForTimeout(500); // sigma's inertia settles
  const inPage = await page.evaluate(({ x, y }) => new Promise((resolve) => {
    const el = document.elementFromPoint(x, y);
    const ev = (type, mx, my) => el.dispatchEvent(new MouseEvent(type, { clientX: mx, clientY: my, bubbles: true,
      cancelable: true, button: 0, buttons: type === 'mouseup' ? 0 : 1, view: window }));
    let ticks = 0, moves = 0, done = false;
    const tick = () => { if (!done) { ticks++; requestAnimationFrame(tick); } };
    ev('mousedown', x, y);
    window.__otwFrames = 0;
    const t = performance.now();
    requestAnimationFrame(tick);
    const iv = setInterval(() => {
      moves++;
      ev('mousemove', x + 150 * Math.sin(moves / 40), y + 100 * Math.cos(moves / 52));
      if (performance.now() - t < 3000) return;
      clearInterval(iv);
      done = true;
      ev('mouseup', x, y);
      const secs = (performance.now() - t) / 1000;
      resolve({ fps: window.__otwFrames / secs, frames: window.__otwFrames, moves, clock_fps: ticks / secs });
    }, 4);
  }), { x: cx, y: cy });
  fps = inPage.fps;
  frames = inPage.frames;
  console.error(`panning: in-page events ${inPage.moves} moves, ${inPage.frames} frames, frame clock ` +
    `${round(inPage.clock_fps)} Hz; CDP mouse ${cdp.moves} moves, ${cdp.frames} frames`);
  return { first: median(first), server: server.length ? median(server) : null, fps, frames, files, cdp,
    clock: inPage.clock_fps };
}

// A first visit with an empty cache: every byte the browser fetched, split into the app's files and API answers.
async function transfer(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await page.goto(base + '/inventory', { waitUntil: 'commit' });
  await settled(page);
  const inv = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    let files = nav ? nav.transferSize : 0, api = 0;
    for (const r of performance.getEntriesByType('resource'))
      if (new URL(r.name).pathname.startsWith('/api/')) api += r.transferSize; else files += r.transferSize;
    return { files, api };
  });
  return inv;
}

const b = await launch({ ...env, OTW_UI_WEBGL: '1' });
const { page } = b;
let out;
try {
  // A fresh profile: the first page after login shows what a first visit transfers.
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  const bytes = await transfer(page);
  console.log(`first visit of the inventory: ${bytes.files} bytes of files, ${bytes.api} bytes of API answers`);
  const inv = await inventory(page);
  console.log(`inventory: first page on screen ${round(inv.ttd)} ms (server ${round(inv.server)} ms);` +
    ` filter round trip ${round(inv.filter)} ms (server ${round(inv.fserver)} ms)`);
  const m = await map(page);
  console.log(`map: first render ${round(m.first)} ms (server ${round(m.server)} ms); panning ${round(m.fps)} fps` +
    ` (${m.frames} frames in 3 s; frame clock ${round(m.clock)} Hz); with the CDP mouse ${round(m.cdp.fps)} fps` +
    ` (${m.cdp.moves} moves sent)`);
  out = {
    bench: 'ui',
    devices: Number(env.OTW_BENCH_DEVICES || 0),
    sites: Number(env.OTW_BENCH_SITES || 0),
    inventory_server_ms: round(inv.server),
    inventory_ttd_ms: round(inv.ttd),
    filter_round_trip_ms: round(inv.filter),
    filter_server_ms: round(inv.fserver),
    map_first_render_ms: round(m.first),
    map_server_ms: round(m.server),
    map_pan_fps: round(m.fps),
    map_pan_frame_clock_hz: round(m.clock),
    map_pan_fps_cdp_mouse: round(m.cdp.fps),
    transfer_files_bytes: bytes.files,
    transfer_api_bytes: bytes.api,
    transfer_map_files_bytes: m.files,
    baseline_curl: curl,
    ratio_inventory_ttd_to_curl: curl.inventory_ms ? round(inv.ttd / curl.inventory_ms, 2) : null,
    ratio_map_render_to_curl: curl.map_ms ? round(m.first / curl.map_ms, 2) : null,
    targets: { inventory_server_ms: 300, map_first_render_ms: 2000, map_pan_fps: 30 },
    renderer: 'chromium headless, SwiftShader (software WebGL)',
  };
} finally {
  await b.close();
}
console.log(JSON.stringify(out));
