// The map's view state and its URL form (no WebGL here: the page loads this eagerly, the renderer lazily).
//
//   /map?group_by=site,zone&expand=site:1,site:1/zone:4&layout=purdue&type=ics&authorized=false&new=true&seen=7d
//
// `expand` lists the open groups; the API needs every ancestor of an open group open too (a group id spells its
// path, `site:12/zone:34`), so expanding adds the ancestors and collapsing removes the descendants.

export const HIERARCHIES = [
  { value: 'site,zone', label: 'site › zone' },
  { value: 'site,zone,subnet', label: 'site › zone › subnet' },
  { value: 'site,subnet', label: 'site › subnet' },
  { value: 'zone,vlan', label: 'zone › VLAN' },
  { value: 'site,purdue_level', label: 'site › Purdue level' },
  { value: 'purdue_level', label: 'Purdue level' },
  { value: 'subnet', label: 'subnet (/24)' },
  { value: 'vlan', label: 'VLAN' },
];
export const DEFAULT_GROUP_BY = 'site,zone';
const LEVELS = ['site', 'zone', 'subnet', 'vlan', 'purdue_level'];

export const LAYOUTS = [
  { value: 'force', label: 'By connection' },
  { value: 'purdue', label: 'By Purdue level' },
];

// Device classes (otw_device_class) and the types in each: the type filter offers a class as a shortcut.
export const CLASS_TYPES = {
  ics: ['plc', 'rtu', 'ied', 'hmi', 'engineering_workstation', 'historian', 'opc_server', 'scada_server',
    'bacnet_controller', 'io_device', 'drive', 'safety_controller'],
  network: ['switch', 'router', 'firewall', 'wireless_ap'],
  it: ['it_host', 'server', 'printer'],
  iot: ['camera', 'ip_phone', 'iot_device'],
};
export const CLASS_LABELS = { ics: 'ICS', network: 'Network', it: 'IT', iot: 'IoT', other: 'Other / unknown' };
export const ALL_TYPES = [...Object.values(CLASS_TYPES).flat(), 'unknown'];
export const typeLabel = (t) => (t ? t.replace(/_/g, ' ') : 'unknown');

export const SEEN = [
  { value: '', label: 'Any time' },
  { value: '1h', label: 'Last hour', ms: 3600e3 },
  { value: '24h', label: 'Last 24 hours', ms: 86400e3 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86400e3 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86400e3 },
];

/** The page state from the URL's query (URLSearchParams), with unknown values replaced by defaults. */
export function readState(q) {
  let groupBy = q.get('group_by') || DEFAULT_GROUP_BY;
  const lv = groupBy.split(',');
  if (!lv.every((l) => LEVELS.includes(l)) || new Set(lv).size !== lv.length) groupBy = DEFAULT_GROUP_BY;
  const layout = LAYOUTS.some((l) => l.value === q.get('layout')) ? q.get('layout') : 'force';
  const typeRaw = q.get('type') || '';
  const type = typeRaw in CLASS_TYPES || ALL_TYPES.includes(typeRaw) ? typeRaw : '';
  const pick = (k, allowed) => (allowed.includes(q.get(k)) ? q.get(k) : '');
  return {
    groupBy,
    expand: (q.get('expand') || '').split(',').filter(Boolean),
    layout,
    protocol: (q.get('protocol') || '').trim(),
    type,
    authorized: pick('authorized', ['true', 'false']),
    isNew: pick('new', ['true', 'false']),
    seen: SEEN.some((s) => s.value === q.get('seen')) ? q.get('seen') : '',
  };
}

/** The GET /map query for a state; `now` fixes the last-seen window when the filter is chosen. */
export function apiQuery(st, now) {
  const seen = SEEN.find((s) => s.value === st.seen);
  return {
    group_by: st.groupBy,
    expand: st.expand.length ? st.expand.join(',') : null,
    protocol: st.protocol ? st.protocol.split(/[\s,]+/).filter(Boolean).join(',') : null,
    type: st.type ? (CLASS_TYPES[st.type] || [st.type]).join(',') : null,
    authorized: st.authorized || null,
    new: st.isNew || null,
    seen_after: seen && seen.ms ? new Date(now - seen.ms).toISOString() : null,
  };
}

/** The ancestors of a group id, outermost first: 'site:1/zone:2' -> ['site:1']. */
export function ancestors(id) {
  const parts = id.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export const EXPAND_MAX = 64; // the API's limit on expand ids per request

/** The expand list with `id` open (and its ancestors, which the API needs open too). */
export function withExpanded(list, id) {
  const out = list.slice();
  for (const a of [...ancestors(id), id]) if (!out.includes(a)) out.push(a);
  return out;
}

/** The expand list with `id` and everything open inside it closed. */
export function withCollapsed(list, id) {
  return list.filter((x) => x !== id && !x.startsWith(id + '/'));
}

/** The group level name a segment of an id names ('site:1/zone:2' -> 'zone'). */
export const levelOf = (id) => id.slice(id.lastIndexOf('/') + 1).split(':')[0];

export const LEVEL_LABELS = { site: 'Site', zone: 'Zone', subnet: 'Subnet', vlan: 'VLAN', purdue_level: 'Purdue level' };

export const PURDUE_NAMES = {
  5: 'Level 5 · Enterprise',
  4: 'Level 4 · Business planning',
  3: 'Level 3 · Site operations',
  2: 'Level 2 · Supervisory control',
  1: 'Level 1 · Basic control',
  0: 'Level 0 · Field (process)',
};
