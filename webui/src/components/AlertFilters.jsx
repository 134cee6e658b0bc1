// The alerts list's filters, all kept in the URL: status (default "new"; "all" for every status), severity, engine,
// site, zone, sensor, a time range (relative, or from/to) and device_id (the alerts involving one device and those
// merged into it; set by the device page's link, shown as a removable "Device: <name>" chip). readAlertFilters(query)
// reads them, useAlertQuery(filters) turns them into the API's query, <AlertFilters> edits them (onChange receives
// the URL changes; null removes a parameter).
import { useMemo } from 'preact/hooks';
import { useApi } from '../lib/hooks.js';
import { Button } from './Button.jsx';
import { ENGINES, SEVERITIES, STATUSES, cap, engineName } from './AlertBits.jsx';
import { deviceName } from './DeviceBits.jsx';

export const FILTER_KEYS = ['status', 'severity', 'engine', 'site_id', 'zone_id', 'sensor_id', 'device_id', 'range', 'from', 'to'];
const RANGES = [
  { value: '', label: 'Any time' },
  { value: '1h', label: 'Last hour', ms: 3600e3 },
  { value: '24h', label: 'Last 24 hours', ms: 86400e3 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86400e3 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86400e3 },
  { value: 'custom', label: 'Between…' },
];

export function readAlertFilters(query) {
  const f = {};
  for (const k of FILTER_KEYS) f[k] = query.get(k) || '';
  if (!f.range && (f.from || f.to)) f.range = 'custom';
  return f;
}

export const listOf = (s) => (s ? s.split(',').filter(Boolean) : []);

/** The statuses the list shows: absent means "new"; "all" means every status. */
export function statusesOf(f) {
  if (f.status === 'all') return STATUSES;
  const l = listOf(f.status).filter((s) => STATUSES.includes(s));
  return l.length ? l : ['new'];
}

/** The API query for the filters; a relative range is turned into `from` when the filters change (stable key). */
export function useAlertQuery(f) {
  return useMemo(() => {
    const r = RANGES.find((x) => x.value === f.range);
    const st = statusesOf(f);
    return {
      status: st.length === STATUSES.length ? undefined : st.join(','),
      severity: f.severity || undefined,
      engine: f.engine || undefined,
      site_id: f.site_id || undefined,
      zone_id: f.zone_id || undefined,
      sensor_id: f.sensor_id || undefined,
      device_id: f.device_id || undefined,
      from: r && r.ms ? new Date(Date.now() - r.ms).toISOString() : f.range === 'custom' ? f.from || undefined : undefined,
      to: f.range === 'custom' ? f.to || undefined : undefined,
    };
  }, [FILTER_KEYS.map((k) => f[k]).join('|')]);
}

function toLocal(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function fromLocal(v) {
  const d = new Date(v);
  return v && !isNaN(d) ? d.toISOString() : null;
}

function Checks({ legend, values, options, label, onChange }) {
  const on = new Set(values);
  const set = (v, checked) => {
    const n = new Set(on);
    checked ? n.add(v) : n.delete(v);
    onChange(options.filter((o) => n.has(o)));
  };
  return (
    <fieldset class="alert-checks">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o} class="check">
          <input type="checkbox" checked={on.has(o)} onChange={(e) => set(o, e.currentTarget.checked)} />
          {label(o)}
        </label>
      ))}
    </fieldset>
  );
}

function Select({ id, label, value, onChange, options }) {
  return (
    <div class="alert-filter">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value || null)}>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

/** "Device: <name>" with a button that removes the filter; the name is fetched (the id when it cannot be). */
function DeviceChip({ id, onRemove }) {
  const dev = useApi(`/devices/${encodeURIComponent(id)}`);
  const name = dev.data ? deviceName(dev.data) : dev.error ? `#${id}` : '…';
  return (
    <div class="alert-filter alert-filter-chip">
      <span class="chip" data-testid="device-filter">
        Device: {dev.data ? <a href={`/devices/${dev.data.id}`}>{name}</a> : name}
        <button type="button" aria-label="Remove the device filter" title="Remove the device filter" onClick={onRemove}>×</button>
      </span>
    </div>
  );
}

export function AlertFilters({ f, names, onChange }) {
  const n = names || { sites: [], zones: [], sensors: [] };
  const byName = (a, b) => a.label.localeCompare(b.label);
  const zones = n.zones.filter((z) => !f.site_id || String(z.site_id) === f.site_id);
  const statuses = statusesOf(f);
  const dirty = FILTER_KEYS.some((k) => f[k]);
  return (
    <form class="alert-filters" role="search" aria-label="Alert filters" onSubmit={(e) => e.preventDefault()}>
      <Checks legend="Status" values={statuses} options={STATUSES} label={cap}
        onChange={(l) => onChange({ status: l.length === 0 || l.length === STATUSES.length ? 'all' : l.join(',') === 'new' ? null : l.join(',') })} />
      <Checks legend="Severity" values={listOf(f.severity)} options={SEVERITIES} label={cap}
        onChange={(l) => onChange({ severity: l.length && l.length < SEVERITIES.length ? l.join(',') : null })} />
      <div class="alert-filter-selects">
        <Select id="af-engine" label="Engine" value={f.engine} onChange={(v) => onChange({ engine: v })}
          options={[{ value: '', label: 'All engines' }, ...ENGINES.map((e) => ({ value: e, label: engineName(e) }))]} />
        <Select id="af-site" label="Site" value={f.site_id} onChange={(v) => onChange({ site_id: v, zone_id: null })}
          options={[{ value: '', label: 'All sites' }, ...n.sites.map((s) => ({ value: String(s.id), label: s.name })).sort(byName)]} />
        <Select id="af-zone" label="Zone" value={f.zone_id} onChange={(v) => onChange({ zone_id: v })}
          options={[{ value: '', label: 'All zones' }, ...zones.map((z) => ({ value: String(z.id), label: z.name })).sort(byName)]} />
        <Select id="af-sensor" label="Sensor" value={f.sensor_id} onChange={(v) => onChange({ sensor_id: v })}
          options={[{ value: '', label: 'All sensors' }, ...n.sensors.map((s) => ({ value: s.id, label: s.name })).sort(byName)]} />
        <Select id="af-range" label="Detected" value={f.range} onChange={(v) => onChange({ range: v, from: null, to: null })}
          options={RANGES} />
        {f.range === 'custom' && (
          <>
            <div class="alert-filter">
              <label for="af-from">From</label>
              <input id="af-from" type="datetime-local" value={toLocal(f.from)} onChange={(e) => onChange({ from: fromLocal(e.currentTarget.value) })} />
            </div>
            <div class="alert-filter">
              <label for="af-to">To</label>
              <input id="af-to" type="datetime-local" value={toLocal(f.to)} onChange={(e) => onChange({ to: fromLocal(e.currentTarget.value) })} />
            </div>
          </>
        )}
        {f.device_id && <DeviceChip id={f.device_id} onRemove={() => onChange({ device_id: null })} />}
        {dirty && (
          <div class="alert-filter alert-filter-reset">
            <Button small variant="ghost" onClick={() => onChange(Object.fromEntries(FILTER_KEYS.map((k) => [k, null])))}>Reset filters</Button>
          </div>
        )}
      </div>
    </form>
  );
}
