// The global device map: the estate as groups (site, zone, subnet, VLAN, Purdue level) that open on demand into
// their sub-groups and devices, drawn with WebGL (sigma.js + graphology, loaded only here) from GET /map, which
// aggregates on the server so that the default view stays small at any estate size.
//
// Everything that defines a view (group_by, expand, filters, layout) is in the URL. The canvas is one way in; the
// side panel, the search box and the list view (tables of the same nodes and counts) are the others. Live
// inventory changes do not re-lay out the map under the user: they offer a refresh.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { Page } from '../components/Page.jsx';
import { SavedViews } from '../components/SavedViews.jsx';
import { toast } from '../components/Toast.jsx';
import { errorText } from '../lib/api.js';
import { num } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { useLive } from '../lib/live.js';
import { setQuery } from '../lib/router.js';
import { Legend } from '../map/Legend.jsx';
import { MapList } from '../map/MapList.jsx';
import { MapPanel } from '../map/MapPanel.jsx';
import { buildModel } from '../map/model.js';
import {
  ALL_TYPES, apiQuery, CLASS_LABELS, CLASS_TYPES, EXPAND_MAX, HIERARCHIES, LAYOUTS, readState, SEEN, typeLabel,
  withCollapsed, withExpanded,
} from '../map/state.js';
import { plural, readPalette } from '../map/style.js';
import '../styles/map.css';

export const route = { path: '/map', title: 'Device map', nav: { group: 'Overview', order: 20 } };

// The URL parameters a saved view of the map keeps (SavedViews, page "map").
const VIEW_KEYS = ['group_by', 'expand', 'layout', 'protocol', 'type', 'authorized', 'new', 'seen'];

export default function MapPage({ query }) {
  const st = readState(query);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setNow(Date.now()), [st.seen]);
  const res = useApi('/map', { query: apiQuery(st, now) });
  const box = useRef(null);
  const canvas = useRef(null);
  const view = useRef(null);
  const [viewState, setViewState] = useState('loading'); // loading | ready | {failed}
  const [selected, setSelected] = useState(null);
  const [listView, setListView] = useState(false);
  const [stale, setStale] = useState(false);
  const [relayoutTick, setRelayoutTick] = useState(0);
  const shownFor = useRef({ groupBy: null, layout: null, tick: -1 });

  const model = useMemo(() => (res.data && box.current ? buildModel(res.data, readPalette(box.current)) : null), [res.data]);

  // Latest values for the renderer's callbacks (created once).
  const cur = useRef({});
  cur.current = { st, model };

  useEffect(() => {
    let gone = false;
    import('../map/view.js').then(
      (m) => {
        if (gone) return;
        try {
          view.current = new m.MapView(canvas.current, {
            onSelect: (k) => choose(k, false),
            onExpand: (k) => {
              const n = cur.current.model && cur.current.model.nodes.get(k);
              if (n && n.kind === 'group') expand(k);
              else if (n && n.kind === 'container') collapse(k);
            },
          });
          setViewState('ready');
        } catch (err) {
          setViewState({ failed: err.message || String(err) });
          setListView(true);
        }
      },
      (err) => {
        if (!gone) setViewState({ failed: `the map's code did not load (${err.message}); reload the page` });
      },
    );
    return () => {
      gone = true;
      if (view.current) view.current.destroy();
      view.current = null;
    };
  }, []);

  // Draw each fetched graph once; a new hierarchy, layout or "Re-run layout" lays it out anew.
  useEffect(() => {
    if (viewState !== 'ready' || !model) return;
    const was = shownFor.current;
    const relayout = was.groupBy !== st.groupBy || was.layout !== st.layout || was.tick !== relayoutTick;
    shownFor.current = { groupBy: st.groupBy, layout: st.layout, tick: relayoutTick };
    view.current.show(model, { layout: st.layout, relayout });
    if (selected && !model.nodes.has(selected)) setSelected(null);
    else view.current.select(selected);
  }, [model, viewState, st.layout, relayoutTick]);

  useEffect(() => {
    if (!listView && view.current) view.current.resize();
  }, [listView]);

  useLive(['inventory'], () => setStale(true), { debounce: 2000 });

  function choose(key, focus) {
    setSelected(key);
    if (view.current) {
      view.current.select(key);
      if (focus && key) view.current.focus(key);
    }
  }
  function expand(key) {
    const id = key.slice(2);
    const next = withExpanded(cur.current.st.expand, id);
    if (next.length > EXPAND_MAX) {
      toast.error(`At most ${EXPAND_MAX} groups can be open at once: collapse some first.`);
      return;
    }
    setQuery({ expand: next.join(',') });
  }
  function collapse(key) {
    setQuery({ expand: withCollapsed(cur.current.st.expand, key.slice(2)).join(',') || null });
  }
  const refresh = () => {
    setStale(false);
    setNow(Date.now());
    res.reload();
  };

  const node = selected && model ? model.nodes.get(selected) : null;
  const filtered = !!(st.protocol || st.type || st.authorized || st.isNew || st.seen);
  const failed = typeof viewState === 'object' ? viewState.failed : null;
  const t = model && model.totals;
  const levels = st.groupBy.split(',');
  const counts = useMemo(() => {
    if (!model) return null;
    let devices = 0;
    for (const n of model.nodes.values()) if (n.kind === 'device') devices++;
    return { groups: model.nodes.size - devices, devices, links: model.edges.length };
  }, [model]);

  return (
    <Page title="Device map" subtitle="Devices and their connections across every site you may see, grouped; open a group to see inside it."
      actions={<SavedViews page="map" current={query.get('view')} params={Object.fromEntries(VIEW_KEYS.map((k) => [k, query.get(k)]))}
        none="the default view (site › zone, everything)" />}>
      <div class="map-page" ref={box}>
        <Controls st={st} node={node} onExpand={expand} onCollapse={collapse}
          onRelayout={() => setRelayoutTick((x) => x + 1)} />
        {stale && (
          <div class="notice map-stale" role="status">
            Map data changed. <Button small variant="primary" onClick={refresh}>Refresh map</Button>
          </div>
        )}
        {res.error && (
          <div class="form-error" role="alert">
            The map could not be loaded: {errorText(res.error)} <Button small onClick={refresh}>Try again</Button>
          </div>
        )}
        {failed && <p class="form-error" role="alert">This browser cannot draw the map ({failed}). The list view shows the same groups and counts.</p>}
        {model && model.truncated.map((g) => (
          <p key={g.id} class="notice map-notice" role="status">
            {g.label}: showing {num(g.shown)} of {num(g.devices)} devices — filter to narrow.
          </p>
        ))}
        <div class="map-summary">
          <p aria-live="polite" class="muted" data-testid="map-summary">
            {res.loading && !model ? 'Loading the map…' : counts
              ? `${plural(counts.groups, 'group')} and ${plural(counts.devices, 'device')} shown, ${plural(counts.links, 'link')}; ${plural(t.devices, 'device')} in all.`
              : ''}
            {res.loading && model ? ' Updating…' : ''}
          </p>
          <Search model={model} onFind={(k) => choose(k, true)} />
          <Button small aria-pressed={listView ? 'true' : 'false'} disabled={!!failed} onClick={() => setListView(!listView)}>List view</Button>
        </div>
        <div class="map-body">
          <div class="map-main">
            <div class={`map-stage${listView ? ' is-hidden' : ''}`}>
              <div class="map-canvas" ref={canvas} data-testid="map-canvas" />
              <div class="map-zoom" role="group" aria-label="Zoom">
                <button type="button" class="btn btn-small" aria-label="Zoom in" onClick={() => view.current && view.current.zoom(1)}>+</button>
                <button type="button" class="btn btn-small" aria-label="Zoom out" onClick={() => view.current && view.current.zoom(-1)}>−</button>
                <button type="button" class="btn btn-small" aria-label="Reset view" onClick={() => view.current && view.current.zoom(0)}>Reset</button>
              </div>
              {model && model.nodes.size === 0 && (
                <p class="map-empty">{filtered ? 'No devices match these filters.' : 'No devices yet: they appear as sensors see traffic.'}</p>
              )}
              {!model && !res.error && <p class="map-empty">Loading the map…</p>}
            </div>
            {listView && model && (
              <MapList model={model} selected={selected} onSelect={choose} onExpand={expand} onCollapse={collapse} />
            )}
            {!listView && <Legend levels={levels} />}
          </div>
          <MapPanel node={node} model={model} onExpand={expand} onCollapse={collapse} onSelect={(k) => choose(k, true)}
            onFocus={(k) => { setListView(false); choose(k, true); }} />
        </div>
      </div>
    </Page>
  );
}

function Controls({ st, node, onExpand, onCollapse, onRelayout }) {
  const set = (k) => (e) => setQuery({ [k]: e.currentTarget.value || null });
  return (
    <div class="map-controls">
      <div class="map-controls-row">
        <label class="map-field">Group by
          <select value={st.groupBy} onChange={(e) => setQuery({ group_by: e.currentTarget.value, expand: null })}>
            {HIERARCHIES.map((h) => <option key={h.value} value={h.value}>{h.label}</option>)}
          </select>
        </label>
        <label class="map-field">Layout
          <select value={st.layout} onChange={set('layout')}>
            {LAYOUTS.map((l) => <option key={l.value} value={l.value}>{l.label}</option>)}
          </select>
        </label>
        <Button small onClick={onRelayout}>Re-run layout</Button>
        <span class="map-sep" />
        <Button small variant="primary" disabled={!node || node.kind !== 'group'} onClick={() => onExpand(node.key)}>Expand</Button>
        <Button small disabled={!node || node.kind !== 'container'} onClick={() => onCollapse(node.key)}>Collapse</Button>
        <Button small disabled={!st.expand.length} onClick={() => setQuery({ expand: null })}>Collapse all</Button>
      </div>
      <fieldset class="map-controls-row map-filters">
        <legend class="sr-only">Filters</legend>
        <label class="map-field">Protocol
          <input type="text" size="12" placeholder="e.g. modbus" defaultValue={st.protocol} key={st.protocol}
            onChange={set('protocol')} />
        </label>
        <label class="map-field">Type
          <select value={st.type} onChange={set('type')}>
            <option value="">Any type</option>
            <optgroup label="Classes">
              {Object.keys(CLASS_TYPES).map((c) => <option key={c} value={c}>{CLASS_LABELS[c]} (all)</option>)}
            </optgroup>
            <optgroup label="Types">
              {ALL_TYPES.map((ty) => <option key={ty} value={ty}>{typeLabel(ty)}</option>)}
            </optgroup>
          </select>
        </label>
        <label class="map-field">Authorized
          <select value={st.authorized} onChange={set('authorized')}>
            <option value="">Any</option><option value="true">Authorized</option><option value="false">Unauthorized</option>
          </select>
        </label>
        <label class="map-field">New
          <select value={st.isNew} onChange={set('new')}>
            <option value="">Any</option><option value="true">New only</option><option value="false">Not new</option>
          </select>
        </label>
        <label class="map-field">Last seen
          <select value={st.seen} onChange={set('seen')}>
            {SEEN.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
          </select>
        </label>
        {(st.protocol || st.type || st.authorized || st.isNew || st.seen) && (
          <Button small variant="ghost" onClick={() => setQuery({ protocol: null, type: null, authorized: null, new: null, seen: null })}>
            Clear filters
          </Button>
        )}
      </fieldset>
    </div>
  );
}

/** Finds shown groups and devices by name, IP, MAC, vendor or type; one match is selected and centred. */
function Search({ model, onFind }) {
  const [term, setTerm] = useState('');
  const [found, setFound] = useState(null); // null | [] | [node]
  const find = (ev) => {
    ev.preventDefault();
    const q = term.trim().toLowerCase();
    if (!q || !model) return setFound(null);
    const hits = [...model.nodes.values()].filter((n) => n.search.includes(q)).slice(0, 20);
    setFound(hits);
    if (hits.length === 1) onFind(hits[0].key);
  };
  return (
    <div class="map-search-box">
      <form class="map-search" role="search" onSubmit={find}>
        <label class="sr-only" for="map-search">Find a device or group on the map</label>
        <input id="map-search" type="search" placeholder="Find name, IP, MAC…" value={term}
          onInput={(e) => setTerm(e.currentTarget.value)} />
        <Button small type="submit">Find</Button>
      </form>
      {found && (
        <div class="map-found" role="status">
          {found.length === 0 ? (
            <span>Nothing shown matches “{term}”. Devices inside closed groups are not searched: open the group, or use the inventory.</span>
          ) : found.length === 1 ? (
            <span>Found {found[0].label}.</span>
          ) : (
            <>
              <span>{found.length === 20 ? 'First 20 matches:' : `${found.length} matches:`}</span>
              {found.map((n) => (
                <button key={n.key} type="button" class="link-button" onClick={() => onFind(n.key)}>{n.kind === 'device' ? n.label : n.raw.label}</button>
              ))}
            </>
          )}
        </div>
      )}
    </div>
  );
}
