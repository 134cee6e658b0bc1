// Browser-test helpers: launch Debian's chromium through playwright-core (from webui/node_modules), watch every
// page for CSP violations, uncaught errors and console errors, and small helpers the scenarios share.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
const require = createRequire(join(repo, 'webui', 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.OTW_CHROMIUM || '/usr/bin/chromium';
// The machine notes' flags; --user-data-dir comes from launchPersistentContext (a fresh directory each run).
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export class Failure extends Error {}
export function check(cond, message) {
  if (!cond) throw new Failure(message);
}

/** Launches chromium with a fresh profile. env.OTW_UI_SPKI (base64 SHA-256 of the console's public key) makes
 * chromium trust exactly that certificate; without it every certificate error is ignored. */
export async function launch(env) {
  const profile = mkdtempSync(join(tmpdir(), 'otw-e2e-'));
  const args = [...FLAGS];
  if (env.OTW_UI_SPKI) args.push(`--ignore-certificate-errors-spki-list=${env.OTW_UI_SPKI}`);
  if (env.OTW_UI_WEBGL) args.push('--enable-unsafe-swiftshader', '--use-angle=swiftshader');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    ignoreHTTPSErrors: !env.OTW_UI_SPKI,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(Number(env.OTW_UI_TIMEOUT_MS || 20000));
  const problems = [];
  // Recorded in the page itself as well, so that a violation is seen even when no console message is logged.
  await context.addInitScript(() => {
    window.__otwCsp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__otwCsp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || 0})`);
    });
  });
  const watch = (page) => {
    page.on('pageerror', (err) => problems.push(`uncaught error: ${err.message}`));
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content[- ]Security[- ]Policy/i.test(text)) problems.push(`CSP: ${text}`);
      // Chromium logs every 4xx/5xx as "Failed to load resource"; the scenarios check the answers they expect.
      else if (msg.type() === 'error' && !text.startsWith('Failed to load resource')) problems.push(`console error: ${text}`);
    });
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The CSP violations the page itself saw (securitypolicyviolation events). */
export async function pageViolations(page) {
  try {
    return await page.evaluate(() => window.__otwCsp || []);
  } catch {
    return [];
  }
}

/** Signs in through the login form and waits for the shell (the user's name in the top bar). */
export async function login(page, base, username, password) {
  await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('user').waitFor();
}

/** fetch() from inside the page with the session cookie and the CSRF header, as the UI's own client sends it. */
export async function pageFetch(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const csrf = (document.cookie.match(/(?:^|;\s*)otw_csrf=([^;]*)/) || [])[1] || '';
    const r = await fetch(p, {
      method: m,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf) },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    let json = null;
    try { json = await r.json(); } catch { /* empty */ }
    return { status: r.status, body: json };
  }, [method, path, body]);
}
