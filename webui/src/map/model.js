// From a GET /map answer to what the map shows: one entry per node (collapsed groups, devices, and expanded groups
// as translucent "containers" their children sit around) and one per edge. Pure data: the list view and the side
// panel use it as they are, the renderer (view.js) turns it into a graphology graph.
//
// Node keys follow the API's edge endpoints: `g:<group id>` and `d:<device id>`.
import { ancestors, levelOf, PURDUE_NAMES } from './state.js';
import { deviceClass, DEVICE_SIZE, edgeSize, groupLabel, groupSize } from './style.js';

/** The Purdue band of a node: 0..5, or 'unknown' (also for groups whose devices may sit at several levels). */
function purdueOf(n) {
  if (n.kind === 'device') return Number.isInteger(n.raw.purdue_level) ? n.raw.purdue_level : 'unknown';
  const seg = n.raw.id.split('/').find((s) => s.startsWith('purdue_level:'));
  const v = seg ? Number(seg.slice('purdue_level:'.length)) : NaN;
  return Number.isInteger(v) ? v : 'unknown';
}

export function buildModel(data, palette) {
  const nodes = new Map();
  const shown = new Map(); // group id -> devices shown
  for (const d of data.devices || []) shown.set(d.group, (shown.get(d.group) || 0) + 1);
  for (const g of data.groups || []) {
    const key = 'g:' + g.id;
    const marks = {
      ringColor: g.unauthorized > 0 ? palette.unauthorized : null,
      dotColor: g.new > 0 ? palette.isNew : null,
    };
    const n = {
      key,
      kind: g.expanded ? 'container' : 'group',
      raw: g,
      parentKey: g.parent ? 'g:' + g.parent : null,
      label: g.expanded ? `${g.label} (open)` : groupLabel(g),
      search: `${g.label}`.toLowerCase(),
      shown: g.expanded ? shown.get(g.id) || 0 : 0,
      attrs: g.expanded
        ? { size: groupSize(g.devices) + 6, color: palette.container, zIndex: 0, label: `${g.label} (open)` }
        : { size: groupSize(g.devices), color: palette.level[g.level] || palette.level.site, zIndex: 1,
          label: groupLabel(g), ...marks },
    };
    nodes.set(key, n);
  }
  for (const d of data.devices || []) {
    const key = 'd:' + d.id;
    nodes.set(key, {
      key,
      kind: 'device',
      raw: d,
      parentKey: 'g:' + d.group,
      label: d.label || d.ip || d.mac || `device ${d.id}`,
      search: [d.label, d.ip, d.mac, d.vendor, d.type].filter(Boolean).join(' ').toLowerCase(),
      attrs: {
        size: DEVICE_SIZE, color: palette.cls[deviceClass(d)], zIndex: 2, label: d.label || d.ip || d.mac || `device ${d.id}`,
        ringColor: d.authorized ? null : palette.unauthorized,
        dotColor: d.new ? palette.isNew : null,
      },
    });
  }
  for (const n of nodes.values()) {
    n.purdue = purdueOf(n);
    n.attrs.kind = n.kind;
    if (n.kind !== 'device') n.attrs.devices = n.raw.devices;
  }
  const edges = [];
  for (const e of data.edges || []) {
    if (!nodes.has(e.source) || !nodes.has(e.target) || e.source === e.target) continue;
    edges.push({
      key: `${e.source}|${e.target}`, source: e.source, target: e.target, raw: e,
      attrs: { size: edgeSize(e.connections), color: palette.edge, weight: Math.log2(1 + e.connections),
        connections: e.connections, label: (e.protocols || []).join(', ') },
    });
  }
  const truncated = (data.groups || []).filter((g) => g.truncated)
    .map((g) => ({ id: g.id, label: g.label, devices: g.devices, shown: shown.get(g.id) || 0 }));
  return { nodes, edges, truncated, totals: data.totals || {}, groupBy: data.group_by || [] };
}

/** The keys a new node may be placed around: its enclosing groups, innermost first. */
export function anchorKeys(n) {
  const id = n.kind === 'device' ? n.raw.group : n.raw.id;
  const list = n.kind === 'device' ? [id, ...ancestors(id).reverse()] : ancestors(id).reverse();
  return list.map((x) => 'g:' + x);
}

/** Bands of the Purdue layout, top to bottom (Enterprise to Field, then unknown). */
export const BANDS = [5, 4, 3, 2, 1, 0, 'unknown'].map((l) => ({
  level: l,
  label: l === 'unknown' ? 'Unknown or mixed level' : PURDUE_NAMES[l],
}));

/** What a node is, in words, for the list view and the panel. */
export function kindText(n) {
  if (n.kind === 'device') return 'Device';
  const lv = { site: 'Site', zone: 'Zone', subnet: 'Subnet', vlan: 'VLAN', purdue_level: 'Purdue level' }[levelOf(n.raw.id)] || 'Group';
  return n.kind === 'container' ? `${lv} (open)` : lv;
}
