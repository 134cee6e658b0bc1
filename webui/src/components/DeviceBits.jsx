// Small shared pieces of the inventory and device pages: device types and their labels, a device's display name,
// the authorized / importance / new badges, address lists that stay one line in dense tables, and the names of
// sites and zones (loaded once per page from /sites and /zones).
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';

// The effective types the console knows (server/api_devices_list.c api_device_types), by class.
export const DEVICE_TYPES = [
  'plc', 'rtu', 'ied', 'hmi', 'engineering_workstation', 'historian', 'opc_server', 'scada_server',
  'bacnet_controller', 'io_device', 'drive', 'safety_controller', 'switch', 'router', 'firewall', 'wireless_ap',
  'it_host', 'server', 'printer', 'camera', 'ip_phone', 'iot_device',
];
const TYPE_NAMES = {
  plc: 'PLC', rtu: 'RTU', ied: 'IED', hmi: 'HMI', engineering_workstation: 'Engineering workstation',
  opc_server: 'OPC server', scada_server: 'SCADA server', bacnet_controller: 'BACnet controller', io_device: 'I/O device',
  wireless_ap: 'Wireless AP', it_host: 'IT host', ip_phone: 'IP phone', iot_device: 'IoT device',
};
export const CLASSES = [
  { value: 'ics', label: 'ICS' }, { value: 'network', label: 'Network' }, { value: 'it', label: 'IT' },
  { value: 'iot', label: 'IoT' }, { value: 'other', label: 'Other' },
];
export const IMPORTANCES = ['high', 'medium', 'low'];
// Protocols offered in the filter's suggestions; any other name can be typed.
export const PROTOCOLS = ['modbus', 's7comm', 's7comm_plus', 'enip', 'cip', 'dnp3', 'iec104', 'iec61850', 'goose', 'mms',
  'profinet', 'opcua', 'bacnet', 'http', 'https', 'snmp', 'dns', 'smb', 'rdp', 'ssh', 'lldp', 'cdp', 'mqtt', 'rtsp', 'sip'];

export const cap = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);
export const typeName = (t) => (t ? TYPE_NAMES[t] || cap(t.replace(/_/g, ' ')) : 'Unknown');
export const className = (c) => (CLASSES.find((x) => x.value === c) || { label: c || '—' }).label;

/** What to call a device: its name, else host name, else first address, else its key. */
export function deviceName(d) {
  if (!d) return '';
  return d.name || d.hostname || (d.ips && d.ips[0]) || (d.macs && d.macs[0]) || d.key || `Device ${d.id}`;
}

export function AuthorizedBadge({ value }) {
  return value
    ? <span class="badge inv-auth-yes">authorized</span>
    : <span class="badge inv-auth-no">unauthorized</span>;
}

export function ImportanceBadge({ value }) {
  if (!value) return <span class="muted">—</span>;
  return <span class={`badge inv-imp-${value}`}>{value}</span>;
}

/** The first few items of a list, then "+N" whose title lists them all (keeps table rows one line). */
export function ShortList({ items, max = 1, mono = true }) {
  if (!items || items.length === 0) return <span class="muted">—</span>;
  const shown = items.slice(0, max).join(', ');
  const more = items.length - max;
  return (
    <span class={mono ? 'mono' : ''} title={items.length > max ? items.join(', ') : undefined}>
      {shown}{more > 0 && <span class="inv-more"> +{more}</span>}
    </span>
  );
}

async function loadPlaces(signal) {
  const [sites, zones] = await Promise.all([api.all('/sites', { signal }), api.all('/zones', { signal })]);
  return { sites, zones, site: new Map(sites.map((s) => [s.id, s])), zone: new Map(zones.map((z) => [z.id, z])) };
}

/** { data: {sites, zones, site: Map, zone: Map} } for names of sites and zones. */
export const usePlaces = () => useApi(loadPlaces);

export function siteLabel(places, id) {
  if (id === null || id === undefined) return '—';
  const s = places && places.site.get(id);
  return s ? s.name : `site ${id}`;
}

export function zoneLabel(places, id) {
  if (id === null || id === undefined) return 'not placed';
  const z = places && places.zone.get(id);
  return z ? z.name : `zone ${id}`;
}
