// The inventory's filters, all kept in the URL. readInventoryFilters(query) reads them, useDeviceQuery(filters)
// turns them into the query of GET /api/v1/devices (and its CSV export), <InventoryFilters> edits them: onChange
// receives the URL changes (null removes a parameter).
//
// URL parameters: q, type (comma list), class, vendor, protocol, authorized, importance, purdue_level, new, tag,
// site_id, zone_id, sensor_id, seen (a last-seen window: 1h 24h 7d 30d, or stale7d stale30d for "not seen in"),
// sort ('name' or '-name', as the Table gives it), limit, cursor (the page), view (the saved view picked).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Button } from './Button.jsx';
import { Popover } from './Popover.jsx';
import { CLASSES, DEVICE_TYPES, IMPORTANCES, PROTOCOLS, typeName } from './DeviceBits.jsx';

export const FILTER_KEYS = ['q', 'type', 'class', 'vendor', 'protocol', 'authorized', 'importance', 'purdue_level',
  'new', 'tag', 'site_id', 'zone_id', 'sensor_id', 'seen'];
// What a saved view keeps: the filters, the sort and the page size (not the page itself).
export const VIEW_KEYS = [...FILTER_KEYS, 'sort', 'limit'];
export const PAGE_SIZES = [50, 100, 250, 500];

const SEEN = [
  { value: '', label: 'Any time' },
  { value: '1h', label: 'Seen in the last hour', after: 3600e3 },
  { value: '24h', label: 'Seen in the last 24 hours', after: 86400e3 },
  { value: '7d', label: 'Seen in the last 7 days', after: 7 * 86400e3 },
  { value: '30d', label: 'Seen in the last 30 days', after: 30 * 86400e3 },
  { value: 'stale7d', label: 'Not seen for 7 days', before: 7 * 86400e3 },
  { value: 'stale30d', label: 'Not seen for 30 days', before: 30 * 86400e3 },
];

export function readInventoryFilters(query) {
  const f = {};
  for (const k of FILTER_KEYS) f[k] = query.get(k) || '';
  return f;
}

export const hasFilters = (f) => FILTER_KEYS.some((k) => f[k]);

/** The API's filter query for f (sort and paging apart). A relative last-seen window becomes a time when the
 * filters change, so that the query (and the cursors made for it) stays the same while the user pages. */
export function useDeviceQuery(f, sort) {
  const key = JSON.stringify(f) + sort;
  return useMemo(() => {
    const q = {};
    for (const k of FILTER_KEYS) if (f[k] && k !== 'seen') q[k] = f[k];
    const s = SEEN.find((x) => x.value === f.seen);
    const now = Math.floor(Date.now() / 60000) * 60000;
    if (s && s.after) q.seen_after = new Date(now - s.after).toISOString().replace(/\.\d+Z$/, 'Z');
    if (s && s.before) q.seen_before = new Date(now - s.before).toISOString().replace(/\.\d+Z$/, 'Z');
    if (sort) {
      q.sort = sort.replace(/^-/, '');
      q.order = sort.startsWith('-') ? 'desc' : 'asc';
    }
    return q;
  }, [key]);
}

/** The search box: applies what is typed after a short pause (or at once on Enter). */
function SearchBox({ value, onChange }) {
  const [text, setText] = useState(value);
  const last = useRef(value);
  useEffect(() => {
    // The URL changed from elsewhere (a saved view, "Clear filters"): show it.
    if (value !== last.current) {
      last.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    const t = text.trim();
    if (t === last.current) return undefined;
    const timer = setTimeout(() => {
      last.current = t;
      onChange(t);
    }, 400);
    return () => clearTimeout(timer);
  }, [text]);
  const onKey = (e) => {
    if (e.key === 'Enter') {
      last.current = text.trim();
      onChange(text.trim());
    }
  };
  return (
    <div class="inv-filter inv-search">
      <label for="inv-q">Search</label>
      <input id="inv-q" type="search" value={text} maxLength={200} autocomplete="off" spellcheck={false}
        placeholder="Name, vendor, IP or MAC prefix, CIDR" aria-describedby="inv-q-hint"
        onInput={(e) => setText(e.currentTarget.value)} onKeyDown={onKey} />
      <span id="inv-q-hint" class="sr-only">Name, host name, vendor or model text; an IP prefix or CIDR network; or a MAC prefix.</span>
    </div>
  );
}

function Select({ id, label, value, options, onChange }) {
  return (
    <div class="inv-filter">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

/** Device types as a popover of checkboxes (the API takes a comma list); Popover closes it on Escape or outside. */
function TypePicker({ value, onChange }) {
  const chosen = value ? value.split(',').filter(Boolean) : [];
  const toggle = (t, on) => {
    const next = on ? [...chosen, t] : chosen.filter((x) => x !== t);
    onChange(DEVICE_TYPES.filter((x) => next.includes(x)).join(','));
  };
  const summary = chosen.length === 0 ? 'Any type' : chosen.length === 1 ? typeName(chosen[0]) : `${chosen.length} types`;
  return (
    <div class="inv-filter">
      <span class="inv-filter-label" id="inv-type-label">Type</span>
      <Popover class="inv-types" summary={<span id="inv-type-sum">{summary}</span>}
        summaryProps={{ 'aria-labelledby': 'inv-type-label inv-type-sum' }}>
        <fieldset>
          <legend class="sr-only">Device types</legend>
          {DEVICE_TYPES.map((t) => (
            <label key={t} class="check">
              <input type="checkbox" checked={chosen.includes(t)} onChange={(e) => toggle(t, e.currentTarget.checked)} />
              {typeName(t)}
            </label>
          ))}
          {chosen.length > 0 && <Button small variant="ghost" onClick={() => onChange('')}>Any type</Button>}
        </fieldset>
      </Popover>
    </div>
  );
}

export function InventoryFilters({ f, places, onChange }) {
  const set = (k) => (v) => onChange({ [k]: v || null });
  const sites = places ? places.sites.slice().sort((a, b) => a.name.localeCompare(b.name)) : [];
  const zones = places
    ? places.zones.filter((z) => !f.site_id || String(z.site_id) === f.site_id).sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const siteName = (id) => (places && places.site.get(id) ? places.site.get(id).name : `site ${id}`);
  const onProtocol = (e) => onChange({ protocol: e.currentTarget.value.trim().toLowerCase() || null });
  return (
    <div class="inv-filters" role="search" aria-label="Device filters">
      <SearchBox value={f.q} onChange={set('q')} />
      <TypePicker value={f.type} onChange={set('type')} />
      <Select id="inv-class" label="Class" value={f.class} onChange={set('class')}
        options={[{ value: '', label: 'Any class' }, ...CLASSES]} />
      <div class="inv-filter">
        <label for="inv-protocol">Protocol</label>
        <input id="inv-protocol" list="inv-protocols" value={f.protocol} maxLength={64} size={10} autocomplete="off"
          placeholder="any" onChange={onProtocol} />
        <datalist id="inv-protocols">{PROTOCOLS.map((p) => <option key={p} value={p} />)}</datalist>
      </div>
      <Select id="inv-authorized" label="Authorized" value={f.authorized} onChange={set('authorized')}
        options={[{ value: '', label: 'Any' }, { value: 'true', label: 'Authorized' }, { value: 'false', label: 'Unauthorized' }]} />
      <Select id="inv-importance" label="Importance" value={f.importance} onChange={set('importance')}
        options={[{ value: '', label: 'Any' }, ...IMPORTANCES.map((i) => ({ value: i, label: i[0].toUpperCase() + i.slice(1) }))]} />
      <Select id="inv-purdue" label="Purdue level" value={f.purdue_level} onChange={set('purdue_level')}
        options={[{ value: '', label: 'Any' }, ...[0, 1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: `Level ${n}` }))]} />
      <Select id="inv-site" label="Site" value={f.site_id} onChange={(v) => onChange({ site_id: v || null, zone_id: null })}
        options={[{ value: '', label: 'All sites' }, ...sites.map((s) => ({ value: String(s.id), label: s.name }))]} />
      <Select id="inv-zone" label="Zone" value={f.zone_id} onChange={set('zone_id')}
        options={[{ value: '', label: 'All zones' },
          ...zones.map((z) => ({ value: String(z.id), label: f.site_id ? z.name : `${siteName(z.site_id)} / ${z.name}` }))]} />
      <Select id="inv-seen" label="Last seen" value={f.seen} onChange={set('seen')} options={SEEN} />
      <div class="inv-filter inv-filter-check">
        <label class="check">
          <input type="checkbox" checked={f.new === 'true'} onChange={(e) => onChange({ new: e.currentTarget.checked ? 'true' : null })} />
          New only
        </label>
      </div>
      {(f.vendor || f.tag || f.sensor_id) && (
        <p class="inv-extra">
          {f.vendor && <span class="chip">vendor: {f.vendor} <button type="button" aria-label="Remove the vendor filter" onClick={() => onChange({ vendor: null })}>×</button></span>}
          {f.tag && <span class="chip">tag: {f.tag} <button type="button" aria-label="Remove the tag filter" onClick={() => onChange({ tag: null })}>×</button></span>}
          {f.sensor_id && <span class="chip">sensor: <span class="mono">{f.sensor_id.slice(0, 8)}</span> <button type="button" aria-label="Remove the sensor filter" onClick={() => onChange({ sensor_id: null })}>×</button></span>}
        </p>
      )}
    </div>
  );
}
