// The WebGL map: a sigma.js 3 renderer over a graphology graph, driven by the page through a small imperative API
// so that nothing in Preact re-renders per frame (sigma owns its canvas; the page only hears about clicks).
// Loaded with `await import('../map/view.js')` from pages/Map.jsx: sigma, graphology and ForceAtlas2 are fetched
// only when the map opens.
//
//   const v = new MapView(el, { onSelect(key), onExpand(key) });
//   v.show(model, { layout: 'force' | 'purdue', relayout: bool });   // relayout: new positions and camera
//   v.select(key); v.focus(key); v.zoom(+1 | -1 | 0); v.destroy();
import Graph from 'graphology';
import Sigma from 'sigma';
import { forceLayout, placeNew, purdueLayout } from './layout.js';
import { NodeRingProgram } from './ringProgram.js';
import { readPalette } from './style.js';

export { readPalette };

export class MapView {
  constructor(container, { onSelect, onExpand }) {
    this.el = container;
    this.palette = readPalette(container);
    this.pos = new Map();
    this.selected = null;
    this.layout = null;
    this.graph = new Graph({ type: 'undirected' });
    this.sigma = new Sigma(this.graph, container, {
      defaultNodeType: 'ring',
      nodeProgramClasses: { ring: NodeRingProgram },
      renderEdgeLabels: false,
      enableEdgeEvents: false,
      zIndex: true,
      labelFont: getComputedStyle(container).fontFamily || 'system-ui, sans-serif',
      labelSize: 12,
      labelWeight: '600',
      labelColor: { color: this.palette.label },
      labelDensity: 0.4,
      labelGridCellSize: 180,
      labelRenderedSizeThreshold: 8,
      stagePadding: 48,
      minCameraRatio: 0.005,
      maxCameraRatio: 8,
      allowInvalidContainer: true,
    });
    this.sigma.on('clickNode', ({ node }) => {
      if (node.startsWith('band:')) return;
      onSelect(node);
    });
    this.sigma.on('doubleClickNode', (e) => {
      if (e.node.startsWith('band:')) return;
      e.preventSigmaDefault();
      onExpand(e.node);
    });
    this.sigma.on('clickStage', () => onSelect(null));
    this.sigma.on('enterNode', ({ node }) => {
      if (!node.startsWith('band:')) this.el.style.cursor = 'pointer';
    });
    this.sigma.on('leaveNode', () => {
      this.el.style.cursor = '';
    });
    if (localStorage.getItem('otwBench') === '1') {
      const self = this;
      window.__otwMap = { get sigma() { return self.sigma; }, get graph() { return self.graph; } };
    }
  }

  /** Draws `model` (model.js). Keeps positions and camera unless `relayout` or the layout changed. */
  show(model, { layout, relayout }) {
    const full = relayout || layout !== this.layout || this.graph.order === 0;
    let bands = null;
    if (layout === 'purdue') {
      this.pos = new Map();
      bands = purdueLayout(model, this.pos);
    } else if (full) {
      this.pos = new Map();
      forceLayout(model, this.pos);
    } else {
      // Forget nodes that left, place the ones that came (around the group they came out of).
      for (const k of [...this.pos.keys()]) if (!model.nodes.has(k)) this.pos.delete(k);
      placeNew(model, this.pos);
    }
    this.layout = layout;

    const g = new Graph({ type: 'undirected' });
    for (const n of model.nodes.values()) {
      const p = this.pos.get(n.key) || { x: 0, y: 0 };
      const a = { ...n.attrs, x: p.x, y: p.y, highlighted: n.key === this.selected };
      if (n.kind === 'container' && layout === 'purdue') a.hidden = true; // it spans bands: it has no one place
      g.addNode(n.key, a);
    }
    if (bands) {
      for (const [k, b] of bands) {
        g.addNode(k, { kind: 'band', x: b.x, y: b.y, size: 1, color: 'rgba(0,0,0,0)', label: b.label, forceLabel: true,
          zIndex: 0 });
      }
    }
    for (const e of model.edges) if (!g.hasEdge(e.source, e.target)) g.addEdge(e.source, e.target, { ...e.attrs });
    if (this.selected && !g.hasNode(this.selected)) this.selected = null;

    // Large graphs: no edges while the camera moves (the default aggregated views are small and keep them).
    this.sigma.setSetting('hideEdgesOnMove', g.size > 3000);
    // Small graphs label every node (sigma still thins labels that would overlap); large ones only big nodes.
    this.sigma.setSetting('labelRenderedSizeThreshold', g.order <= 150 ? 0 : 8);
    if (full) this.sigma.setCustomBBox(null);
    this.graph = g;
    this.sigma.setGraph(g); // renders synchronously
    if (full) {
      // Fix the normalisation box: later expands add nodes without rescaling (the camera stays where it is).
      const bb = this.sigma.getBBox();
      this.sigma.setCustomBBox({ x: [...bb.x], y: [...bb.y] });
      this.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
      this.sigma.refresh();
    }
    performance.mark('otw:map:rendered');
  }

  select(key) {
    if (this.selected && this.graph.hasNode(this.selected)) this.graph.setNodeAttribute(this.selected, 'highlighted', false);
    this.selected = key && this.graph.hasNode(key) ? key : null;
    if (this.selected) this.graph.setNodeAttribute(this.selected, 'highlighted', true);
  }

  /** Moves the camera onto a node (search, list view). */
  focus(key) {
    if (!this.graph.hasNode(key)) return;
    const d = this.sigma.getNodeDisplayData(key);
    if (!d) return;
    const cam = this.sigma.getCamera();
    cam.animate({ x: d.x, y: d.y, ratio: Math.min(cam.getState().ratio, 0.6) }, { duration: 350 });
  }

  zoom(dir) {
    const cam = this.sigma.getCamera();
    if (dir > 0) cam.animatedZoom({ duration: 200 });
    else if (dir < 0) cam.animatedUnzoom({ duration: 200 });
    else cam.animatedReset({ duration: 250 });
  }

  /** After the container was hidden (list view) and shown again. */
  resize() {
    this.sigma.resize();
    this.sigma.refresh();
  }

  destroy() {
    this.sigma.kill();
    if (window.__otwMap) delete window.__otwMap;
  }
}
