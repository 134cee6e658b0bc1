// Layouts. Both write positions into `pos` (Map key -> {x, y}) and never run per frame:
// - by connection: ForceAtlas2 (graphology-layout-forceatlas2), synchronously, for a bounded number of iterations
//   (fewer the bigger the graph), over the groups and devices only; open groups ("containers") then sit at the
//   centre of what they hold;
// - by Purdue level: horizontal bands, Level 5 (Enterprise) at the top down to Level 0 (Field), then unknown;
//   within a band, nodes in rows, siblings together.
// placeNew() puts nodes that appeared after an expand around the group they came from, keeping every other
// position as it was (the camera does not move either: view.js fixes the bounding box).
import Graph from 'graphology';
import forceAtlas2 from 'graphology-layout-forceatlas2';
import { anchorKeys, BANDS } from './model.js';

const COL = 2.5; // Purdue rows: column and row spacing (graph units)
const ROW = 0.9;
const GOLDEN = Math.PI * (3 - Math.sqrt(5));

/** Deterministic sunflower spiral: point i of a disc whose points are `step` apart. */
function sunflower(i, step) {
  const r = step * Math.sqrt(i + 0.5);
  return { x: r * Math.cos(i * GOLDEN), y: r * Math.sin(i * GOLDEN) };
}

const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** ForceAtlas2 over groups and devices; returns the iterations it ran. */
export function forceLayout(model, pos) {
  const movable = [...model.nodes.values()].filter((n) => n.kind !== 'container').sort(byKey);
  const g = new Graph({ type: 'undirected' });
  // Seed: siblings next to each other on a spiral, so that unconnected groups start apart but near their kin.
  movable.forEach((n, i) => g.addNode(n.key, { ...sunflower(i, 1), size: n.attrs.size }));
  for (const e of model.edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target) && !g.hasEdge(e.source, e.target)) {
      g.addEdge(e.source, e.target, { weight: e.attrs.weight });
    }
  }
  const n = g.order;
  let iterations = 0;
  if (n > 1) {
    iterations = Math.max(30, Math.min(300, Math.round(300000 / n)));
    const settings = {
      ...forceAtlas2.inferSettings(g),
      barnesHutOptimize: n > 400,
      strongGravityMode: true,
      gravity: 0.05,
      scalingRatio: 4,
      edgeWeightInfluence: 1,
      slowDown: 2,
    };
    forceAtlas2.assign(g, { iterations, settings });
  }
  g.forEachNode((k, a) => pos.set(k, { x: a.x, y: a.y }));
  placeContainers(model, pos);
  return iterations;
}

/** An open group sits at the centre of the nodes inside it. */
function placeContainers(model, pos) {
  const sums = new Map();
  for (const n of model.nodes.values()) {
    if (n.kind === 'container' || !pos.has(n.key)) continue;
    const p = pos.get(n.key);
    for (const a of anchorKeys(n)) {
      const s = sums.get(a) || { x: 0, y: 0, n: 0 };
      s.x += p.x;
      s.y += p.y;
      s.n++;
      sums.set(a, s);
    }
  }
  for (const n of model.nodes.values()) {
    if (n.kind !== 'container') continue;
    const s = sums.get(n.key);
    if (s) pos.set(n.key, { x: s.x / s.n, y: s.y / s.n });
    else if (!pos.has(n.key)) pos.set(n.key, { x: 0, y: 0 });
  }
}

/** Purdue bands; returns the band label positions (key -> {x, y, label}). */
export function purdueLayout(model, pos) {
  const rows = new Map(BANDS.map((b) => [String(b.level), []]));
  for (const n of model.nodes.values()) if (n.kind !== 'container') rows.get(String(n.purdue)).push(n);
  const total = [...rows.values()].reduce((s, r) => s + r.length, 0);
  const perRow = Math.max(8, Math.ceil(Math.sqrt(total) * 2));
  const bands = new Map();
  let y = 0; // graph y grows upwards on screen: the first band (Level 5) is drawn at the top
  for (const b of BANDS) {
    const list = rows.get(String(b.level)).sort((p, q) =>
      (p.parentKey || '').localeCompare(q.parentKey || '') || p.label.localeCompare(q.label) || byKey(p, q));
    // The band's name sits above its first row, left-aligned with it.
    bands.set('band:' + b.level, { x: 0, y: y + 0.55, label: b.label, count: list.length });
    list.forEach((n, i) => pos.set(n.key, { x: (i % perRow) * COL, y: y - Math.floor(i / perRow) * ROW }));
    y -= Math.max(1, Math.ceil(list.length / perRow)) * ROW + 1.3;
  }
  for (const n of model.nodes.values()) if (n.kind === 'container') pos.set(n.key, { x: 0, y: 0 });
  return bands;
}

/** Positions the nodes of `model` that `pos` does not have yet, around the nearest enclosing group that it has
 * (the group just expanded); nodes with no such group go to the edge of the drawing. */
export function placeNew(model, pos) {
  const fresh = [...model.nodes.values()].filter((n) => !pos.has(n.key)).sort(byKey);
  if (!fresh.length) return;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const p of pos.values()) {
    minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
  }
  const diag = Number.isFinite(minX) ? Math.hypot(maxX - minX, maxY - minY) : 0;
  const step = diag > 0 ? diag * 0.025 : 1;
  const around = new Map(); // anchor key ('' for none) -> nodes
  for (const n of fresh) {
    const a = anchorKeys(n).find((k) => pos.has(k)) || '';
    if (!around.has(a)) around.set(a, []);
    around.get(a).push(n);
  }
  for (const [a, list] of around) {
    const c = a ? pos.get(a) : { x: Number.isFinite(maxX) ? maxX + step * 4 : 0, y: Number.isFinite(minY) ? minY : 0 };
    // Containers first (they sit at the centre), then their contents on a spiral around it.
    let i = 0;
    for (const n of list) {
      if (n.kind === 'container') pos.set(n.key, { x: c.x, y: c.y });
      else {
        const s = sunflower(i++ + 2, step);
        pos.set(n.key, { x: c.x + s.x, y: c.y + s.y });
      }
    }
  }
}
