// Sorting by a column header changes the order (the server's, for sort=name asc then desc, marked with aria-sort),
// and paging with 50 per page walks Next and Previous through the cursor stack.
import { check, login, pageFetch } from '../lib.mjs';
import { rowIds, waitCount, waitRows } from './inventory-lib.mjs';

async function apiIds(page, query) {
  const r = await pageFetch(page, 'GET', `/api/v1/devices?${query}`);
  check(r.status === 200, `GET /devices?${query}: ${r.status}`);
  return r.body.items.map((d) => d.id);
}

export default async function ({ page, base, env, log }) {
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  await page.goto(base + '/inventory');
  await waitCount(page, '60 devices');
  const before = await rowIds(page);

  const nameHeader = page.getByRole('columnheader', { name: /^Name/ });
  await nameHeader.getByRole('button').click();
  const asc = await apiIds(page, 'sort=name&order=asc&limit=100');
  await waitRows(page, asc, 'sorted by name ascending', { ordered: true });
  check((await nameHeader.getAttribute('aria-sort')) === 'ascending', 'the name header is not aria-sort=ascending');
  check(asc.join(',') !== before.join(','), 'sorting by name did not change the order');
  await nameHeader.getByRole('button').click();
  const desc = await apiIds(page, 'sort=name&order=desc&limit=100');
  await waitRows(page, desc, 'sorted by name descending', { ordered: true });
  check((await nameHeader.getAttribute('aria-sort')) === 'descending', 'the name header is not aria-sort=descending');
  check(new URL(page.url()).searchParams.get('sort') === '-name', `the URL does not keep the sort: ${page.url()}`);

  // 50 per page: page 1, Next, Previous (the order stays name descending).
  await page.getByLabel('Per page').selectOption('50');
  await waitRows(page, desc.slice(0, 50), 'first page of 50', { ordered: true });
  await page.getByRole('button', { name: 'Next' }).click();
  await waitRows(page, desc.slice(50), 'second page', { ordered: true });
  await page.getByText('Page 2 of 2').waitFor();
  check(new URL(page.url()).searchParams.get('cursor'), 'the page cursor is not in the URL');
  await page.getByRole('button', { name: 'Previous' }).click();
  await waitRows(page, desc.slice(0, 50), 'back to the first page', { ordered: true });
  await page.getByRole('button', { name: 'Next' }).click();
  await waitRows(page, desc.slice(50), 'second page again', { ordered: true });
  // A reload keeps the page (the cursor is in the URL) and Previous still works.
  await page.reload();
  await waitRows(page, desc.slice(50), 'second page after a reload', { ordered: true });
  await page.getByRole('button', { name: 'Previous' }).click();
  await waitRows(page, desc.slice(0, 50), 'first page after a reload', { ordered: true });
  log('asc', asc.slice(0, 5), 'desc', desc.slice(0, 5));
  return { pages: [50, desc.length - 50] };
}
