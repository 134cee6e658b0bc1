// Audit log (admins): every change through the API with who, from where, and the object's before/after; filtered
// by user, action and time range (kept in the URL), newest first, paged; exported as CSV or JSON lines through
// plain links (the session cookie authenticates the download).
import { useState } from 'preact/hooks';
import { Page } from '../components/Page.jsx';
import { Pager, Table, usePagedList } from '../components/Table.jsx';
import { url } from '../lib/api.js';
import { time } from '../lib/format.js';
import { setQuery } from '../lib/router.js';
import '../styles/admin.css';

export const route = { path: '/audit-log', title: 'Audit log', nav: { group: 'Administration', order: 60 }, ability: 'readAudit' };

// The audit actions the console writes (for the filter's suggestions; the filter takes any).
const ACTIONS = [
  'access_group.create', 'access_group.delete', 'access_group.update', 'ad_group_mapping.create',
  'ad_group_mapping.delete', 'alert.close', 'alert.learn', 'alert.mute', 'alert.reopen', 'alert.comment', 'alert.purge',
  'api_token.create', 'api_token.revoke', 'audit_log.export',
  'auth.directory_sync', 'auth.locked', 'auth.login', 'auth.login_failed', 'auth.logout', 'auth.password_change',
  'auth.refresh_reused', 'business_unit.create', 'business_unit.delete', 'business_unit.update', 'device.merge',
  'device.purge', 'device.update', 'exclusion_rule.create', 'exclusion_rule.delete', 'exclusion_rule.update',
  'forwarding_rule.create', 'forwarding_rule.dead_letters.discard', 'forwarding_rule.dead_letters.retry',
  'forwarding_rule.delete', 'forwarding_rule.update', 'indicator_bundle.delete', 'indicator_bundle.import',
  'indicator_bundle.update', 'maintenance_window.create', 'maintenance_window.end', 'maintenance_window.purge',
  'region.create', 'region.delete', 'region.update', 'saved_view.create', 'saved_view.delete', 'saved_view.update',
  'sensor.create', 'sensor.enroll', 'sensor.enroll_failed', 'sensor.revoke', 'sensor.settings', 'sensor.update',
  'settings.ldap.test', 'settings.ldap.update', 'site.create', 'site.delete', 'site.update', 'user.create',
  'user.delete', 'user.password_reset', 'user.update', 'zone.create', 'zone.delete', 'zone.settings', 'zone.update'
];

/** datetime-local (the browser's time zone) <-> RFC 3339 UTC in the URL. */
const toIso = (v) => {
  const d = new Date(v);
  return v && !isNaN(d) ? d.toISOString() : null;
};
const toLocal = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? '' : new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

const show = (v) => (v === undefined ? '' : v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function Details({ d }) {
  if (d === null || d === undefined) return <span class="muted">—</span>;
  const diff = typeof d === 'object' && !Array.isArray(d) && ('before' in d || 'after' in d);
  const b = diff && d.before && typeof d.before === 'object' ? d.before : {};
  const a = diff && d.after && typeof d.after === 'object' ? d.after : {};
  const keys = diff ? [...new Set([...Object.keys(b), ...Object.keys(a)])] : [];
  const changed = keys.filter((k) => show(b[k]) !== show(a[k]));
  const rest = diff ? Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'before' && k !== 'after')) : null;
  const summary = diff
    ? (!d.before ? 'created' : !d.after ? 'deleted' : changed.length ? `changed ${changed.slice(0, 4).join(', ')}${changed.length > 4 ? '…' : ''}` : 'no change')
    : 'details';
  return (
    <details class="admin-details">
      <summary>{summary}</summary>
      {diff ? (
        <table class="admin-diff">
          <thead><tr><th scope="col">field</th>{d.before && <th scope="col">before</th>}{d.after && <th scope="col">after</th>}</tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k} class={d.before && d.after && changed.includes(k) ? 'is-changed' : ''}>
                <th scope="row">{k}</th>{d.before && <td>{show(b[k])}</td>}{d.after && <td>{show(a[k])}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {(!diff || (rest && Object.keys(rest).length > 0)) && <pre class="admin-json">{JSON.stringify(diff ? rest : d, null, 2)}</pre>}
    </details>
  );
}

const columns = [
  { key: 'at', label: 'Time', render: (e) => <span class="mono admin-nowrap" title={e.at}>{time(e.at)}</span> },
  { key: 'username', label: 'User', render: (e) => e.username || <span class="muted">(console)</span> },
  { key: 'client', label: 'Client', render: (e) => <span class="mono">{e.client || '—'}</span> },
  { key: 'action', label: 'Action', render: (e) => <code>{e.action}</code> },
  { key: 'object', label: 'Object', render: (e) => <span class="mono admin-break">{e.object || '—'}</span> },
  { key: 'details', label: 'Details', render: (e) => <Details d={e.details} /> },
];

export default function AuditPage({ query }) {
  const filters = { username: query.get('username') || '', action: query.get('action') || '', from: query.get('from') || '', to: query.get('to') || '' };
  const list = usePagedList('/audit-log', { query: filters, limit: 50 });
  const [draft, setDraft] = useState(null);
  const f = draft || { ...filters, from: toLocal(filters.from), to: toLocal(filters.to) };
  const apply = (ev) => {
    ev.preventDefault();
    setQuery({ username: f.username.trim() || null, action: f.action.trim() || null, from: toIso(f.from), to: toIso(f.to) });
    setDraft(null);
  };
  const clear = () => {
    setDraft(null);
    setQuery({ username: null, action: null, from: null, to: null });
  };
  const set = (k) => (e) => setDraft({ ...f, [k]: e.currentTarget.value });
  const any = Object.values(filters).some(Boolean);
  const exportHref = (format) => url('/audit-log/export', { ...filters, format });
  return (
    <Page title="Audit log" subtitle="Every change made through the API, with who made it and the object before and after. Newest first."
      actions={<>
        <a class="btn btn-default" href={exportHref('csv')} data-native download>Export CSV</a>
        <a class="btn btn-default" href={exportHref('jsonl')} data-native download>Export JSON lines</a>
      </>}>
      <form class="admin-filters" onSubmit={apply} role="search" aria-label="Filter the audit log">
        <label class="admin-stack">User<input value={f.username} onInput={set('username')} placeholder="exact user name" /></label>
        <label class="admin-stack">Action
          <input value={f.action} onInput={set('action')} list="audit-actions" placeholder="e.g. user.create" pattern="[a-z0-9._]{1,64}" />
        </label>
        <datalist id="audit-actions">{ACTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        <label class="admin-stack">From<input type="datetime-local" value={f.from} onInput={set('from')} /></label>
        <label class="admin-stack">Until<input type="datetime-local" value={f.to} onInput={set('to')} /></label>
        <button type="submit" class="btn btn-primary">Apply filters</button>
        {(any || draft) && <button type="button" class="btn btn-ghost" onClick={clear}>Clear</button>}
      </form>
      <div class="admin-audit">
      <Table caption="Audit records" columns={columns} rows={list.items} rowKey={(e) => e.id} loading={list.loading} error={list.error}
        empty={any ? 'No audit records match these filters.' : 'No audit records yet.'} />
      </div>
      <Pager list={list} />
    </Page>
  );
}
