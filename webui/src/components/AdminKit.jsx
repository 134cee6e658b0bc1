// Pieces the administration pages share: the estate (business units, regions, sites, zones, sensors) as lookup
// maps and option lists, scope pickers, checkbox groups and write-only secret fields. (A 400's nested `field`,
// "action.port", goes to the form's field through useForm's own mapping: components/Form.jsx.)
//
//   const est = useEstate();                      // { data: { sites, zones, ..., zoneLabel(id), ... }, error }
//   <ScopeSelect value={v} onChange={...} est={est.data} global={can('manageGlobalSuppression')} sensors />
//   <CheckGroup legend="Engines" options={[{ value, label }]} value={['anomaly']} onChange={(list) => ...} />
import { useRef } from 'preact/hooks';
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';

let seq = 0;
function useId(prefix) {
  const r = useRef(null);
  if (!r.current) r.current = `${prefix}-${++seq}`;
  return r.current;
}

export const ROLES = [
  { value: 'read_only', label: 'Read-only' },
  { value: 'analyst', label: 'Analyst' },
  { value: 'admin', label: 'Administrator' },
];
export const roleName = (r) => (ROLES.find((x) => x.value === r) || { label: r }).label;

export const ENGINES = [
  { value: 'policy_violation', label: 'Policy violation' },
  { value: 'protocol_violation', label: 'Protocol violation' },
  { value: 'anomaly', label: 'Anomaly' },
  { value: 'operational', label: 'Operational' },
  { value: 'malware', label: 'Malware' },
];
export const SEVERITIES = ['warning', 'minor', 'major', 'critical'];

async function loadEstate(signal) {
  const paths = ['/business-units', '/regions', '/sites', '/zones', '/sensors'];
  const [bus, regions, sites, zones, sensors] = await Promise.all(paths.map((p) => api.all(p, { signal })));
  const by = (l) => new Map(l.map((x) => [x.id, x]));
  const m = { bu: by(bus), region: by(regions), site: by(sites), zone: by(zones), sensor: by(sensors) };
  const siteName = (id) => (m.site.get(id) ? m.site.get(id).name : `site ${id}`);
  const zoneLabel = (id) => {
    const z = m.zone.get(id);
    return z ? `${siteName(z.site_id)} / ${z.name}` : `zone ${id}`;
  };
  const sensorLabel = (id) => {
    const s = m.sensor.get(id);
    return s ? s.name : String(id).slice(0, 8);
  };
  const byName = (a, b) => a.label.localeCompare(b.label);
  return {
    bus, regions, sites, zones, sensors: sensors.filter((s) => s.status !== 'revoked'), m,
    siteName, zoneLabel, sensorLabel,
    buName: (id) => (m.bu.get(id) ? m.bu.get(id).name : `business unit ${id}`),
    regionName: (id) => (m.region.get(id) ? m.region.get(id).name : `region ${id}`),
    siteOptions: sites.map((s) => ({ value: String(s.id), label: s.name })).sort(byName),
    zoneOptions: zones.map((z) => ({ value: String(z.id), label: zoneLabel(z.id) })).sort(byName),
    sensorOptions: sensors.filter((s) => s.status !== 'revoked')
      .map((s) => ({ value: s.id, label: s.zone_id ? `${s.name} (${zoneLabel(s.zone_id)})` : `${s.name} (not placed)` })).sort(byName),
  };
}

/** The caller's visible estate, for pickers and labels; refreshed on sensor events. */
export function useEstate() {
  return useApi(loadEstate, { live: ['sensor'] });
}

/** "Site: Plant A", "Zone: Plant A / Cell 1", "Sensor: s1", or "Global (every zone)". */
export function scopeText(est, o) {
  if (o.zone_id) return `Zone: ${est ? est.zoneLabel(o.zone_id) : o.zone_id}`;
  if (o.site_id) return `Site: ${est ? est.siteName(o.site_id) : o.site_id}`;
  if (o.sensor_id) return `Sensor: ${est ? est.sensorLabel(o.sensor_id) : o.sensor_id}`;
  return 'Global (every zone)';
}

/** Scope encoded as one select value: '' (global), 'site:3', 'zone:4', 'sensor:<uuid>'. */
export const scopeValue = (o) => (o.zone_id ? `zone:${o.zone_id}` : o.site_id ? `site:${o.site_id}` : o.sensor_id ? `sensor:${o.sensor_id}` : '');
export function scopeBody(v) {
  const [k, id] = v ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)] : ['', ''];
  return {
    site_id: k === 'site' ? Number(id) : null,
    zone_id: k === 'zone' ? Number(id) : null,
    ...(k === 'sensor' ? { sensor_id: id } : {}),
  };
}

/** The options of a scope select: global (when allowed), sites, zones and optionally sensors, in optgroups. */
export function ScopeOptions({ est, global, sensors }) {
  return (
    <>
      {global ? <option value="">Global: every zone (administrators only)</option> : <option value="" disabled>Choose a site, zone{sensors ? ' or sensor' : ''}</option>}
      {est && (
        <>
          <optgroup label="Sites (every zone of the site)">
            {est.siteOptions.map((o) => <option key={o.value} value={`site:${o.value}`}>Site: {o.label}</option>)}
          </optgroup>
          <optgroup label="Zones">
            {est.zoneOptions.map((o) => <option key={o.value} value={`zone:${o.value}`}>Zone: {o.label}</option>)}
          </optgroup>
          {sensors && (
            <optgroup label="Sensors">
              {est.sensorOptions.map((o) => <option key={o.value} value={`sensor:${o.value}`}>Sensor: {o.label}</option>)}
            </optgroup>
          )}
        </>
      )}
    </>
  );
}

/** A labelled select over a form value with arbitrary children (optgroups). */
export function SelectBox({ form, name, label, hint, required, children, ...rest }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}{required && <span class="req" aria-hidden="true"> *</span>}</label>
      <select id={id} name={name} required={required} value={form.get(name) ?? ''}
        onChange={(e) => form.set(name, e.currentTarget.value)} aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-err` : hint ? `${id}-hint` : undefined} {...rest}>
        {children}
      </select>
      {hint && !error && <div class="hint" id={`${id}-hint`}>{hint}</div>}
      {error && <div class="field-error" id={`${id}-err`}>{error}</div>}
    </div>
  );
}

/** A group of checkboxes whose value is the list of checked option values. */
export function CheckGroup({ legend, hint, options, value, onChange, error, columns }) {
  const id = useId('cg');
  const set = new Set((value || []).map(String));
  const toggle = (v, on) => {
    const next = options.map((o) => String(o.value)).filter((x) => (x === String(v) ? on : set.has(x)));
    onChange(next);
  };
  return (
    <fieldset class={`field admin-checks${error ? ' has-error' : ''}`} aria-describedby={error ? `${id}-err` : hint ? `${id}-hint` : undefined}>
      <legend>{legend}</legend>
      {options.length === 0 && <div class="muted">None to choose from.</div>}
      <div class={`admin-check-grid${columns ? ` cols-${columns}` : ''}`}>
        {options.map((o) => (
          <label key={o.value} class="check">
            <input type="checkbox" checked={set.has(String(o.value))} onChange={(e) => toggle(o.value, e.currentTarget.checked)} />
            {o.label}
          </label>
        ))}
      </div>
      {hint && !error && <div class="hint" id={`${id}-hint`}>{hint}</div>}
      {error && <div class="field-error" id={`${id}-err`}>{error}</div>}
    </fieldset>
  );
}

/** A write-only secret: the stored one is never shown; leaving it empty keeps it ("unchanged"). */
export function SecretField({ form, name, label, stored, hint, textarea, required }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  const keep = stored ? 'Stored: unchanged unless you type a new one.' : '';
  const help = [keep, hint].filter(Boolean).join(' ');
  const props = {
    id, name, value: form.get(name) ?? '', onInput: (e) => form.set(name, e.currentTarget.value),
    placeholder: stored ? '(unchanged)' : '', autocomplete: 'off', required: required && !stored,
    'aria-invalid': error ? 'true' : undefined, 'aria-describedby': error ? `${id}-err` : help ? `${id}-hint` : undefined,
  };
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}{required && !stored && <span class="req" aria-hidden="true"> *</span>}</label>
      {textarea ? <textarea {...props} class="mono" spellcheck={false} /> : <input type="password" {...props} />}
      {help && !error && <div class="hint" id={`${id}-hint`}>{help}</div>}
      {error && <div class="field-error" id={`${id}-err`}>{error}</div>}
    </div>
  );
}

/** A yes/no badge. */
export function OnOff({ on, yes = 'enabled', no = 'disabled' }) {
  return <span class={`badge ${on ? 'admin-on' : 'admin-off'}`}>{on ? yes : no}</span>;
}

/** Splits a list typed as text (commas, spaces or lines). */
export const splitList = (s) => String(s || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
