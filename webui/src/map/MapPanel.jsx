// The map's side panel: what the selected group or device is, its counts, and what can be done with it. It is
// also the keyboard and screen-reader way into the selection (the canvas is not the only way in).
import { Button } from '../components/Button.jsx';
import { ago, num, time } from '../lib/format.js';
import { kindText } from './model.js';
import { CLASS_LABELS, PURDUE_NAMES, typeLabel } from './state.js';

export function MapPanel({ node, model, onExpand, onCollapse, onSelect, onFocus }) {
  if (!node) {
    return (
      <aside class="map-panel panel" aria-label="Selection">
        <h2>Selection</h2>
        <p class="muted">Click a group or device on the map (double-click a group to open it), pick one in the list view,
          or find one with the search box.</p>
      </aside>
    );
  }
  const parents = [];
  for (let k = node.parentKey; k && model.nodes.has(k); k = model.nodes.get(k).parentKey) parents.unshift(model.nodes.get(k));
  return (
    <aside class="map-panel panel" aria-label="Selection" data-testid="map-panel">
      <p class="map-panel-kind"><span class="badge">{kindText(node)}</span></p>
      <h2 class="map-panel-title">{node.kind === 'device' ? node.label : node.raw.label}</h2>
      {parents.length > 0 && (
        <nav class="map-crumbs" aria-label="Inside">
          {parents.map((p, i) => (
            <span key={p.key}>{i > 0 && ' › '}
              <button type="button" class="link-button" onClick={() => onSelect(p.key)}>{p.raw.label}</button>
            </span>
          ))}
        </nav>
      )}
      {node.kind === 'device' ? <DeviceFacts d={node.raw} /> : <GroupFacts g={node.raw} shown={node.shown} />}
      <div class="map-panel-actions">
        {node.kind === 'group' && <Button variant="primary" small onClick={() => onExpand(node.key)}>Expand</Button>}
        {node.kind === 'container' && <Button small onClick={() => onCollapse(node.key)}>Collapse</Button>}
        {node.kind === 'device' && <a class="btn btn-primary btn-small" href={`/devices/${node.raw.id}`}>Open device page</a>}
        <Button small variant="ghost" onClick={() => onFocus(node.key)}>Centre on map</Button>
      </div>
    </aside>
  );
}

function GroupFacts({ g, shown }) {
  const types = Object.entries(g.types || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return (
    <>
      <dl class="facts map-facts">
        <dt>Devices</dt><dd>{num(g.devices)}</dd>
        <dt>New</dt><dd>{num(g.new)}</dd>
        <dt>Unauthorized</dt><dd class={g.unauthorized ? 'map-bad' : ''}>{num(g.unauthorized)}</dd>
        <dt>Connections inside</dt><dd>{g.expanded ? 'shown on the map' : num(g.internal_connections)}</dd>
      </dl>
      {g.truncated && (
        <p class="notice map-notice">Showing {num(shown)} of {num(g.devices)} devices: filter to narrow.</p>
      )}
      <h3 class="map-subhead">By type</h3>
      {types.length === 0 ? <p class="muted">No devices.</p> : (
        <table class="map-types">
          <caption class="sr-only">Devices by type</caption>
          <tbody>
            {types.map(([t, n]) => <tr key={t}><th scope="row">{typeLabel(t)}</th><td class="num">{num(n)}</td></tr>)}
          </tbody>
        </table>
      )}
    </>
  );
}

function DeviceFacts({ d }) {
  return (
    <dl class="facts map-facts">
      <dt>Type</dt><dd>{typeLabel(d.type)}</dd>
      <dt>Class</dt><dd>{CLASS_LABELS[d.class] || CLASS_LABELS.other}</dd>
      <dt>Purdue level</dt><dd>{Number.isInteger(d.purdue_level) ? PURDUE_NAMES[d.purdue_level] : 'unknown'}</dd>
      <dt>IP</dt><dd class="mono">{d.ip || '—'}</dd>
      <dt>MAC</dt><dd class="mono">{d.mac || '—'}</dd>
      <dt>Vendor</dt><dd>{d.vendor || '—'}</dd>
      <dt>Authorized</dt><dd class={d.authorized ? '' : 'map-bad'}>{d.authorized ? 'yes' : 'no'}</dd>
      <dt>New</dt><dd>{d.new ? 'yes' : 'no'}</dd>
      <dt>Last seen</dt><dd title={d.last_seen || ''}>{d.last_seen ? `${ago(d.last_seen)} (${time(d.last_seen)})` : 'never'}</dd>
    </dl>
  );
}
