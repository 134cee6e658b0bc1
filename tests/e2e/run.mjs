// Runs one browser scenario against a running console:
//   node tests/e2e/run.mjs <scenario>      (scenarios/<scenario>.mjs)
// Environment: OTW_UI_URL (https://127.0.0.1:PORT), OTW_UI_USER / OTW_UI_PASSWORD (an admin), OTW_UI_SCREENSHOT
// (PNG path; default $OTW_BUILD/e2e-screenshots/<scenario>.png), OTW_UI_SPKI (pin the console's key), and what the
// scenario itself reads (see its header). Prints the scenario's result as one JSON line `RESULT {...}`; exits 1
// with the reason (and a screenshot <name>-failed.png) when a check fails, the page logs an uncaught error or a
// console error, or the browser reports a Content-Security-Policy violation.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Failure, launch, pageViolations, repo } from './lib.mjs';

const name = process.argv[2];
if (!name || !/^[a-z0-9_-]+$/.test(name)) {
  console.error('usage: node tests/e2e/run.mjs <scenario>');
  process.exit(2);
}
const env = process.env;
const base = (env.OTW_UI_URL || '').replace(/\/$/, '');
if (!base) {
  console.error('OTW_UI_URL is not set');
  process.exit(2);
}
const shot = env.OTW_UI_SCREENSHOT || join(env.OTW_BUILD || join(repo, 'build'), 'e2e-screenshots', `${name}.png`);
mkdirSync(dirname(shot), { recursive: true });
const failedShot = shot.replace(/\.png$/, '') + '-failed.png';
rmSync(failedShot, { force: true });
rmSync(shot, { force: true });

const scenario = (await import(`./scenarios/${name}.mjs`)).default;
const browser = await launch(env);
const { page, problems } = browser;
const log = (...a) => console.log(`[${name}]`, ...a);
let failed = null;
let result = null;
const budget = Number(env.OTW_UI_SCENARIO_MS || 120000);
let timer;
try {
  result = await Promise.race([
    scenario({ page, context: browser.context, base, env, log }),
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Failure(`scenario took over ${budget} ms`)), budget); }),
  ]);
  // Let late errors (a live event, a deferred render) surface before judging the page.
  await page.waitForTimeout(300);
  await page.screenshot({ path: shot, fullPage: true });
  log('screenshot', shot);
} catch (err) {
  failed = err instanceof Failure ? err.message : err.stack || String(err);
  await page.screenshot({ path: failedShot, fullPage: true }).catch(() => {});
  log('screenshot of the failure', failedShot);
}
clearTimeout(timer);
for (const v of await pageViolations(page)) problems.push(`CSP violation event: ${v}`);
await browser.close();
if (problems.length) {
  console.error(`[${name}] the page reported problems:\n  ` + [...new Set(problems)].join('\n  '));
  failed = failed || 'page problems (above)';
}
if (failed) {
  console.error(`[${name}] FAILED: ${failed}`);
  process.exit(1);
}
console.log('RESULT ' + JSON.stringify(result || {}));
log('ok');
