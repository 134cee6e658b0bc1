// The list view: the visible groups, devices and links of the map as tables, with the same counts and actions
// as the canvas, for keyboard and screen-reader users (and anyone who wants the numbers).
import { useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { num } from '../lib/format.js';
import { kindText } from './model.js';
import { PURDUE_NAMES, typeLabel } from './state.js';

const PAGE = 500;

export function MapList({ model, selected, onSelect, onExpand, onCollapse }) {
  const [more, setMore] = useState({ devices: false, links: false });
  const all = [...model.nodes.values()];
  const groups = all.filter((n) => n.kind !== 'device');
  const devices = all.filter((n) => n.kind === 'device');
  const name = (k) => (model.nodes.get(k) ? model.nodes.get(k).raw.label : k);
  const shownDevices = more.devices ? devices : devices.slice(0, PAGE);
  const shownLinks = more.links ? model.edges : model.edges.slice(0, PAGE);
  const pick = (n) => (
    <button type="button" class="link-button" aria-current={selected === n.key ? 'true' : undefined}
      onClick={() => onSelect(n.key, true)}>{n.kind === 'device' ? n.label : n.raw.label}</button>
  );
  return (
    <div class="map-list" data-testid="map-list">
      <h2 class="map-list-title">Groups <span class="muted">({num(groups.length)})</span></h2>
      <div class="table-wrap">
        <table class="table" aria-label="Map groups">
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Kind</th><th scope="col" class="num">Devices</th>
              <th scope="col" class="num">New</th><th scope="col" class="num">Unauthorized</th>
              <th scope="col" class="num">Connections inside</th><th scope="col"><span class="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {groups.map((n) => (
              <tr key={n.key} data-key={n.key} class={selected === n.key ? 'is-selected' : ''}>
                <td>{pick(n)}{n.raw.truncated && <span class="map-tag">showing {num(n.shown)}</span>}</td>
                <td>{kindText(n)}</td>
                <td class="num">{num(n.raw.devices)}</td>
                <td class="num">{num(n.raw.new)}</td>
                <td class="num">{num(n.raw.unauthorized)}</td>
                <td class="num">{n.kind === 'container' ? '—' : num(n.raw.internal_connections)}</td>
                <td>
                  {n.kind === 'group' && <Button small onClick={() => onExpand(n.key)} aria-label={`Expand ${n.raw.label}`}>Expand</Button>}
                  {n.kind === 'container' && <Button small onClick={() => onCollapse(n.key)} aria-label={`Collapse ${n.raw.label}`}>Collapse</Button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {groups.length === 0 && <div class="table-note">No groups.</div>}
      </div>

      {devices.length > 0 && (
        <>
          <h2 class="map-list-title">Devices <span class="muted">({num(devices.length)})</span></h2>
          <div class="table-wrap">
            <table class="table" aria-label="Map devices">
              <thead>
                <tr>
                  <th scope="col">Name</th><th scope="col">Type</th><th scope="col">IP</th><th scope="col">MAC</th>
                  <th scope="col">Purdue level</th><th scope="col">Authorized</th><th scope="col">New</th>
                  <th scope="col">Group</th><th scope="col"><span class="sr-only">Device page</span></th>
                </tr>
              </thead>
              <tbody>
                {shownDevices.map((n) => {
                  const d = n.raw;
                  return (
                    <tr key={n.key} data-key={n.key} class={selected === n.key ? 'is-selected' : ''}>
                      <td>{pick(n)}</td>
                      <td>{typeLabel(d.type)}</td>
                      <td class="mono">{d.ip || '—'}</td>
                      <td class="mono">{d.mac || '—'}</td>
                      <td>{Number.isInteger(d.purdue_level) ? PURDUE_NAMES[d.purdue_level].split(' · ')[0] : 'unknown'}</td>
                      <td>{d.authorized ? 'yes' : 'no'}</td>
                      <td>{d.new ? 'yes' : 'no'}</td>
                      <td>{name('g:' + d.group)}</td>
                      <td><a href={`/devices/${d.id}`} aria-label={`Open device page of ${n.label}`}>Open</a></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {!more.devices && devices.length > PAGE && (
            <Button small onClick={() => setMore({ ...more, devices: true })}>Show all {num(devices.length)} devices</Button>
          )}
        </>
      )}

      <h2 class="map-list-title">Links <span class="muted">({num(model.edges.length)})</span></h2>
      {model.edges.length === 0 ? <p class="muted">No connections between the nodes shown.</p> : (
        <div class="table-wrap">
          <table class="table" aria-label="Map links">
            <thead>
              <tr><th scope="col">Between</th><th scope="col">And</th><th scope="col" class="num">Connections</th>
                <th scope="col" class="num">Packets</th><th scope="col">Protocols</th></tr>
            </thead>
            <tbody>
              {shownLinks.map((e) => (
                <tr key={e.key}>
                  <td>{model.nodes.get(e.source).label}</td>
                  <td>{model.nodes.get(e.target).label}</td>
                  <td class="num">{num(e.raw.connections)}</td>
                  <td class="num">{num(e.raw.packets)}</td>
                  <td>{(e.raw.protocols || []).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!more.links && model.edges.length > PAGE && (
        <Button small onClick={() => setMore({ ...more, links: true })}>Show all {num(model.edges.length)} links</Button>
      )}
    </div>
  );
}
