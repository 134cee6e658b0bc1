// How map nodes and edges look: colours come from CSS custom properties in styles/map.css (so the legend and the
// canvas use the same values and the tokens stay in CSS), sizes and labels from the API's counts.
import { num } from '../lib/format.js';

export const CLASSES = ['ics', 'network', 'it', 'iot', 'other'];
export const GROUP_LEVELS = ['site', 'zone', 'subnet', 'vlan', 'purdue_level'];

/** Reads the map colours from the CSS variables visible at element `el`. */
export function readPalette(el) {
  const cs = getComputedStyle(el);
  const v = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
  const p = { cls: {}, level: {} };
  for (const c of CLASSES) p.cls[c] = v(`--map-class-${c}`, '#6e7781');
  for (const l of GROUP_LEVELS) p.level[l] = v(`--map-level-${l.replace('_', '-')}`, '#1d4e89');
  p.container = v('--map-container', 'rgba(29, 78, 137, 0.16)');
  p.unauthorized = v('--map-unauthorized', '#b42318');
  p.isNew = v('--map-new', '#ffffff');
  p.edge = v('--map-edge', 'rgba(74, 85, 104, 0.45)');
  p.label = v('--map-label', '#1a2330');
  p.band = v('--map-band-label', '#4a5568');
  return p;
}

export const plural = (n, one, many = one + 's') => `${num(n)} ${n === 1 ? one : many}`;

/** "Plant A · 1,234 devices" */
export const groupLabel = (g) => `${g.label} · ${plural(g.devices, 'device')}`;

/** Group node radius in screen pixels: log scale of the device count (1 device 5 px, 1,000 13 px, 100,000 19 px). */
export const groupSize = (devices) => 4 + 3 * Math.log10(Math.max(1, devices) + 1);
export const DEVICE_SIZE = 4;

/** Edge width from the connection count (log scale, 1 to 8 px). */
export const edgeSize = (connections) => Math.min(8, 1 + 2 * Math.log10(Math.max(1, connections)));

export const deviceClass = (d) => (CLASSES.includes(d.class) ? d.class : 'other');
