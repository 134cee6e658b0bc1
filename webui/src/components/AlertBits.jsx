// Small pieces the alert pages share: severity and status labels (colour and text, never colour alone), engine and
// action names, an alert endpoint (device link when the console matched a device), the names of sites, zones and
// sensors, and the triage texts that say what each action does.
//
//   const names = useAlertNames();               // { data: { site(id), zone(id), place(alert), sensor(id) } }
//   <Severity value="critical" />  <AlertStatus value="learned" />  <Endpoint ep={alert.src} />
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning'];
export const STATUSES = ['new', 'closed', 'learned', 'muted'];
export const ENGINES = ['policy_violation', 'protocol_violation', 'anomaly', 'operational', 'malware'];

const ENGINE_NAMES = {
  policy_violation: 'Policy violation',
  protocol_violation: 'Protocol violation',
  anomaly: 'Anomaly',
  operational: 'Operational',
  malware: 'Malware',
};
export const engineName = (e) => ENGINE_NAMES[e] || e || '—';
export const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : '');

export function Severity({ value }) {
  return <span class={`alert-sev alert-sev-${value}`}><span class="alert-sev-mark" aria-hidden="true" />{cap(value)}</span>;
}

export function AlertStatus({ value }) {
  return <span class={`alert-status alert-status-${value}`}>{value}</span>;
}

/** An alert endpoint: the device (linked) when the console matched one, its address and MAC. */
export function Endpoint({ ep, long }) {
  if (!ep || (!ep.address && !ep.mac && !ep.device_id)) return <span class="muted">—</span>;
  const addr = ep.address || ep.mac;
  if (ep.device_id) {
    const name = ep.device_name || addr || `device ${ep.device_id}`;
    return (
      <span class="alert-ep">
        <a href={`/devices/${ep.device_id}`} title={`Device ${ep.device_id}`}>{name}</a>
        {addr && name !== addr && <span class="mono muted"> {addr}</span>}
        {long && ep.mac && ep.address && <span class="mono muted"> {ep.mac}</span>}
      </span>
    );
  }
  return (
    <span class="alert-ep mono">
      {addr}
      {long && ep.mac && ep.address && <span class="muted"> {ep.mac}</span>}
    </span>
  );
}

// What each triage action does, for buttons, confirmations and the history.
export const ACTIONS = {
  close: { label: 'Close', verb: 'Closed', to: 'closed',
    help: 'Closed alerts leave the open list and take no more occurrences: the same traffic later raises a new alert.' },
  learn: { label: 'Learn', verb: 'Learned', to: 'learned',
    help: "Learn adds the traffic this alert stands for to its zone's baseline: every sensor of the zone gets it and " +
      'stops alerting on it. Reopening the alert takes it out of the baseline again.' },
  mute: { label: 'Mute', verb: 'Muted', to: 'muted',
    help: 'Muted alerts leave the open list but keep counting occurrences, without raising new alerts.' },
  reopen: { label: 'Reopen', verb: 'Reopened', to: 'new',
    help: 'The alert becomes new again; a learned alert leaves the baseline, so its sensors alert on that traffic again.' },
};

export const HISTORY_NAMES = {
  comment: 'commented',
  close: 'closed',
  learn: 'learned (added to the baseline)',
  mute: 'muted',
  reopen: 'reopened',
  auto_close: 'closed automatically (no occurrence for the retention period)',
};

export const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`;

async function loadNames(signal) {
  const lists = await Promise.allSettled(['/sites', '/zones', '/sensors'].map((p) => api.all(p, { signal })));
  const [sites, zones, sensors] = lists.map((r) => (r.status === 'fulfilled' ? r.value : []));
  const siteMap = new Map(sites.map((s) => [s.id, s]));
  const zoneMap = new Map(zones.map((z) => [z.id, z]));
  const sensorMap = new Map(sensors.map((s) => [s.id, s]));
  const site = (id) => (id ? (siteMap.get(id) || {}).name || `site ${id}` : '');
  const zone = (id) => (id ? (zoneMap.get(id) || {}).name || `zone ${id}` : '');
  const sensor = (id) => (id ? (sensorMap.get(id) || {}).name || id.slice(0, 8) : '—');
  const place = (a) => {
    if (!a.zone_id) return 'not placed';
    const z = zoneMap.get(a.zone_id);
    const siteId = a.site_id || (z && z.site_id);
    return `${siteId ? site(siteId) : '?'} / ${zone(a.zone_id)}`;
  };
  return { sites, zones, sensors, site, zone, sensor, place };
}

/** Names of sites, zones and sensors for the alert pages (lists the caller may read; ids when missing). */
export function useAlertNames() {
  return useApi(loadNames, { live: ['sensor'] });
}
