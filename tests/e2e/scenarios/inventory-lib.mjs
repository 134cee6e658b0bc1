// Helpers shared by the inventory-*.mjs scenarios (not a scenario itself: no default export).
import { check } from '../lib.mjs';

/** The device ids the inventory table shows, in order (from the name column's links). */
export async function rowIds(page) {
  return page.getByRole('table', { name: 'Devices' }).locator('tbody tr a[href^="/devices/"]')
    .evaluateAll((as) => as.map((a) => Number(a.getAttribute('href').split('/').pop())));
}

/** Waits until the table shows exactly `want` (ids, in this order when ordered, else as a set). */
export async function waitRows(page, want, what, { ordered = false } = {}) {
  const norm = (l) => (ordered ? l : [...l].sort((a, b) => a - b)).join(',');
  const target = norm(want);
  try {
    await page.waitForFunction(([t, o]) => {
      const ids = [...document.querySelectorAll('table tbody tr a[href^="/devices/"]')]
        .map((a) => Number(a.getAttribute('href').split('/').pop()));
      return (o ? ids : ids.sort((a, b) => a - b)).join(',') === t;
    }, [target, ordered]);
  } catch {
    check(false, `${what}: the table shows ${norm(await rowIds(page))}, expected ${target}`);
  }
}

/** Waits for the count line to read `text` (e.g. "12 devices match these filters"). */
export async function waitCount(page, text) {
  const el = page.getByTestId('device-count');
  try {
    await page.waitForFunction((t) => document.querySelector('[data-testid=device-count]')?.textContent === t, text);
  } catch {
    check(false, `the count reads "${await el.textContent()}", expected "${text}"`);
  }
}

export const idList = (s) => s.split(',').filter(Boolean).map(Number);
