// Create an access group (one scope entry: a site) and a local analyst in it through the UI, and see both listed.
// Env: OTW_UI_USER, OTW_UI_PASSWORD (an admin), OTW_UI_SITE_NAME (an existing site), OTW_UI_GROUP_NAME,
// OTW_UI_NEW_USER, OTW_UI_NEW_PASSWORD (names to create).
import { check, login, pageFetch } from '../lib.mjs';

export default async function ({ page, base, env, log }) {
  const group = env.OTW_UI_GROUP_NAME;
  const user = env.OTW_UI_NEW_USER;
  await login(page, base, env.OTW_UI_USER, env.OTW_UI_PASSWORD);
  const nav = page.getByRole('navigation', { name: 'Main' });

  await nav.getByRole('link', { name: 'Access groups' }).click();
  await page.getByRole('heading', { level: 1, name: 'Access groups' }).waitFor();
  await page.getByRole('button', { name: 'New access group' }).click();
  const gd = page.getByRole('dialog', { name: 'New access group' });
  await gd.getByLabel('Name').fill(group);
  await gd.getByLabel('Entry 1: Site').selectOption({ label: env.OTW_UI_SITE_NAME });
  await gd.getByRole('button', { name: 'Create' }).click();
  await gd.waitFor({ state: 'detached' });
  const grow = page.getByRole('row', { name: new RegExp(group) });
  await grow.waitFor();
  check((await grow.textContent()).includes(`site ${env.OTW_UI_SITE_NAME}`), 'the group row does not show its site entry');

  await nav.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await page.getByRole('button', { name: 'New local user' }).click();
  const ud = page.getByRole('dialog', { name: 'New local user' });
  await ud.getByLabel('User name').fill(user);
  await ud.getByLabel(/^Password/).fill(env.OTW_UI_NEW_PASSWORD);
  await ud.getByLabel('Repeat password').fill(env.OTW_UI_NEW_PASSWORD);
  await ud.getByLabel('Role').selectOption('analyst');
  await ud.getByRole('checkbox', { name: group }).check();
  await ud.getByRole('button', { name: 'Create' }).click();
  await ud.waitFor({ state: 'detached' });
  const urow = page.getByRole('row', { name: new RegExp(user) });
  await urow.waitFor();
  const text = await urow.textContent();
  check(text.includes('Analyst') && text.includes(group) && text.includes('local'), `the user row lacks role, group or source: ${text}`);

  // Deleting the only admin (ourselves) is refused by the server, and the page says why and what to do.
  await page.getByRole('button', { name: `Delete ${env.OTW_UI_USER}`, exact: true }).click();
  await page.getByRole('dialog', { name: new RegExp(`Delete user "${env.OTW_UI_USER}"`) }).getByRole('button', { name: 'Delete' }).click();
  const banner = page.getByRole('alert').filter({ hasText: 'last enabled administrator' });
  await banner.waitFor();

  const users = await pageFetch(page, 'GET', '/api/v1/users');
  const u = users.body.items.find((x) => x.username === user);
  check(u && u.role === 'analyst' && u.access_group_ids.length === 1, 'the API does not have the new user with its group');
  log('created group', group, 'and user', user);
  return { user_id: u.id, group_id: u.access_group_ids[0] };
}
