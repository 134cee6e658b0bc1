// Sites and zones: the business unit → region → site → zone tree, with create, rename, move and delete for
// admins, and sensor placement (PATCH /sensors/{id} zone_id). Other roles see the tree and the details only.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Button } from '../components/Button.jsx';
import { Field, FormError, SelectField, TextArea, useForm } from '../components/Form.jsx';
import { Modal, confirm } from '../components/Modal.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { toast } from '../components/Toast.jsx';
import { Tree } from '../components/Tree.jsx';
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';
import { can } from '../lib/session.js';

export const route = { path: '/sites', title: 'Sites and zones', nav: { group: 'Inventory', order: 10 } };

const KINDS = {
  bu: { path: '/business-units', name: 'business unit', badge: 'bu' },
  region: { path: '/regions', name: 'region', badge: 'region' },
  site: { path: '/sites', name: 'site', badge: 'site' },
  zone: { path: '/zones', name: 'zone', badge: 'zone' },
};

async function loadAll(signal) {
  const [bus, regions, sites, zones, sensors] = await Promise.all(
    ['/business-units', '/regions', '/sites', '/zones', '/sensors'].map((p) => api.all(p, { signal })),
  );
  return { bus, regions, sites, zones, sensors };
}

function buildTree(d) {
  const zoneSensors = new Map();
  for (const s of d.sensors) if (s.zone_id && s.status !== 'revoked') zoneSensors.set(s.zone_id, (zoneSensors.get(s.zone_id) || 0) + 1);
  const zoneNode = (z) => ({ id: `zone:${z.id}`, kind: 'zone', obj: z, label: z.name, badge: 'zone', note: `${zoneSensors.get(z.id) || 0} sensors` });
  const byName = (a, b) => a.name.localeCompare(b.name);
  const siteNode = (s) => ({ id: `site:${s.id}`, kind: 'site', obj: s, label: s.name, badge: 'site',
    children: d.zones.filter((z) => z.site_id === s.id).sort(byName).map(zoneNode) });
  const regionNode = (r) => ({ id: `region:${r.id}`, kind: 'region', obj: r, label: r.name, badge: 'region',
    children: d.sites.filter((s) => s.region_id === r.id).sort(byName).map(siteNode) });
  const buNode = (b) => ({ id: `bu:${b.id}`, kind: 'bu', obj: b, label: b.name, badge: 'bu',
    children: [
      ...d.regions.filter((r) => r.business_unit_id === b.id).sort(byName).map(regionNode),
      ...d.sites.filter((s) => !s.region_id && s.business_unit_id === b.id).sort(byName).map(siteNode),
    ] });
  // Objects whose parent the caller cannot see (or that have none) show at the top level.
  const buIds = new Set(d.bus.map((b) => b.id));
  const regionIds = new Set(d.regions.map((r) => r.id));
  return [
    ...d.bus.slice().sort(byName).map(buNode),
    ...d.regions.filter((r) => !buIds.has(r.business_unit_id)).sort(byName).map(regionNode),
    ...d.sites.filter((s) => !regionIds.has(s.region_id) && !(s.region_id === null && buIds.has(s.business_unit_id))).sort(byName).map(siteNode),
  ];
}

function collectIds(nodes, out = new Map()) {
  for (const n of nodes) {
    out.set(n.id, n);
    if (n.children) collectIds(n.children, out);
  }
  return out;
}

export default function HierarchyPage() {
  const res = useApi(loadAll, { live: ['sensor'] });
  const d = res.data;
  const tree = useMemo(() => (d ? buildTree(d) : []), [d]);
  const index = useMemo(() => collectIds(tree), [tree]);
  const [expanded, setExpanded] = useState(null);
  const [selected, setSelected] = useState(null);
  const [dialog, setDialog] = useState(null); // { type: 'create'|'rename'|'move'|'assign', kind, node }
  const admin = can('manageHierarchy');

  useEffect(() => {
    if (d && expanded === null) setExpanded(new Set(index.keys()));
  }, [d]);
  const exp = expanded || new Set();
  const toggle = (id, open) => {
    const s = new Set(exp);
    open ? s.add(id) : s.delete(id);
    setExpanded(s);
  };
  const sel = selected && index.get(selected);

  const done = (msg, id) => {
    setDialog(null);
    toast.ok(msg);
    if (id) {
      setSelected(id);
      setExpanded((e) => new Set([...(e || []), id, ...ancestorsOf(id)]));
    }
    res.reload();
  };
  const ancestorsOf = (id) => {
    const out = [];
    for (const [k, n] of index) if (n.children && n.children.some((c) => c.id === id)) out.push(k, ...ancestorsOf(k));
    return out;
  };

  const remove = async (node) => {
    const k = KINDS[node.kind];
    const ok = await confirm({
      title: `Delete ${k.name} "${node.label}"?`,
      message: node.kind === 'zone'
        ? 'The zone must hold no sensors. Access group entries that name it are removed.'
        : `The ${k.name} must be empty. Access group entries that name it are removed.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`${k.path}/${node.obj.id}`);
      setSelected(null);
      done(`Deleted ${k.name} "${node.label}".`);
    } catch (err) {
      toast.error(err.status === 409 ? `Cannot delete "${node.label}": ${err.message}. Move or delete what it holds first.` : err);
    }
  };

  const actions = admin && (
    <>
      <Button disabled={!d} onClick={() => setDialog({ type: 'create', kind: 'bu' })}>New business unit</Button>
      <Button disabled={!d} onClick={() => setDialog({ type: 'create', kind: 'region', parent: sel })}>New region</Button>
      <Button disabled={!d} onClick={() => setDialog({ type: 'create', kind: 'site', parent: sel })}>New site</Button>
      <Button variant="primary" disabled={!d || d.sites.length === 0} onClick={() => setDialog({ type: 'create', kind: 'zone', parent: sel })}>New zone</Button>
    </>
  );

  return (
    <Page title="Sites and zones" subtitle="Business units, regions, sites and the zones sensors are placed in." actions={actions}>
      {res.error && <p class="form-error" role="alert">{res.error.message}</p>}
      <div class="split">
        <Panel title="Hierarchy">
          {d && tree.length === 0 && <p class="muted">Nothing here yet.{admin ? ' Create a site to start.' : ''}</p>}
          {d && <Tree label="Sites and zones" nodes={tree} expanded={exp} onToggle={toggle} selected={selected} onSelect={(n) => setSelected(n.id)} />}
          {!d && res.loading && <p class="muted">Loading…</p>}
        </Panel>
        <Details node={sel} data={d} admin={admin} onRename={() => setDialog({ type: 'edit', node: sel })}
          onMove={() => setDialog({ type: 'move', node: sel })} onDelete={() => remove(sel)}
          onAssign={() => setDialog({ type: 'assign', node: sel })} onChanged={(m) => done(m)} />
      </div>
      {dialog && dialog.type === 'create' && <CreateDialog kind={dialog.kind} parent={dialog.parent} data={d} onClose={() => setDialog(null)} onDone={done} />}
      {dialog && dialog.type === 'edit' && <EditDialog node={dialog.node} onClose={() => setDialog(null)} onDone={done} />}
      {dialog && dialog.type === 'move' && <MoveDialog node={dialog.node} data={d} onClose={() => setDialog(null)} onDone={done} />}
      {dialog && dialog.type === 'assign' && <AssignDialog node={dialog.node} data={d} onClose={() => setDialog(null)} onDone={done} />}
    </Page>
  );
}

function Details({ node, data, admin, onRename, onMove, onDelete, onAssign, onChanged }) {
  if (!node) return <Panel title="Details"><p class="muted">Select an item in the tree (arrow keys move, Enter selects).</p></Panel>;
  const k = KINDS[node.kind];
  const o = node.obj;
  const sensors = node.kind === 'zone' ? data.sensors.filter((s) => s.zone_id === o.id) : [];
  const unassign = async (s) => {
    if (!(await confirm({ title: `Take sensor "${s.name}" out of this zone?`, message: 'It keeps reporting; its new inventory stays unplaced until it is placed again.', confirmLabel: 'Take out' }))) return;
    try {
      await api.patch(`/sensors/${s.id}`, { zone_id: null });
      onChanged(`Sensor "${s.name}" is no longer placed.`);
    } catch (err) {
      toast.error(err);
    }
  };
  return (
    <Panel title={<><span class={`badge badge-${k.badge}`}>{k.name}</span> {o.name}</>}
      actions={admin && (
        <>
          <Button small onClick={onRename}>Rename</Button>
          {node.kind !== 'bu' && <Button small onClick={onMove}>Move</Button>}
          <Button small variant="danger" onClick={onDelete}>Delete</Button>
        </>
      )}>
      <dl class="facts">
        <dt>Id</dt><dd>{o.id}</dd>
        <dt>Description</dt><dd>{o.description || '—'}</dd>
        {node.children && <><dt>Contains</dt><dd>{node.children.length} items</dd></>}
      </dl>
      {node.kind === 'zone' && (
        <div class="zone-sensors">
          <div class="panel-header"><h3>Sensors in this zone</h3>{admin && <Button small onClick={onAssign}>Assign sensors</Button>}</div>
          {sensors.length === 0 ? <p class="muted">No sensors.</p> : (
            <ul class="plain">
              {sensors.map((s) => (
                <li key={s.id} class="row">
                  <span class={`status ${s.connected ? 'status-up' : 'status-down'}`}>{s.connected ? 'connected' : 'disconnected'}</span>
                  <a href="/sensors">{s.name}</a>
                  {admin && <Button small variant="ghost" onClick={() => unassign(s)}>Take out</Button>}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Panel>
  );
}

// Parent choices: a region's business unit, a site's region or business unit, a zone's site.
function parentOptions(kind, d) {
  const none = { value: '', label: '(none)' };
  if (kind === 'region') return [none, ...d.bus.map((b) => ({ value: `bu:${b.id}`, label: `Business unit: ${b.name}` }))];
  if (kind === 'site') return [none, ...d.regions.map((r) => ({ value: `region:${r.id}`, label: `Region: ${r.name}` })), ...d.bus.map((b) => ({ value: `bu:${b.id}`, label: `Business unit: ${b.name}` }))];
  if (kind === 'zone') return d.sites.map((s) => ({ value: `site:${s.id}`, label: `Site: ${s.name}` }));
  return [];
}

function parentBody(kind, value) {
  const [pk, id] = value ? value.split(':') : [null, null];
  const n = id ? Number(id) : null;
  if (kind === 'region') return { business_unit_id: n };
  if (kind === 'site') return { region_id: pk === 'region' ? n : null, business_unit_id: pk === 'bu' ? n : null };
  if (kind === 'zone') return { site_id: n };
  return {};
}

function currentParent(node) {
  const o = node.obj;
  if (node.kind === 'region') return o.business_unit_id ? `bu:${o.business_unit_id}` : '';
  if (node.kind === 'site') return o.region_id ? `region:${o.region_id}` : o.business_unit_id ? `bu:${o.business_unit_id}` : '';
  if (node.kind === 'zone') return `site:${o.site_id}`;
  return '';
}

// The nearest usable parent from the selection: a zone's parent is the selected site (or the site of the selected
// zone), a site's the selected region or business unit.
function defaultParent(kind, sel, d) {
  if (!sel) return kind === 'zone' && d.sites.length ? `site:${d.sites[0].id}` : '';
  const opts = parentOptions(kind, d).map((o) => o.value);
  if (opts.includes(sel.id)) return sel.id;
  if (kind === 'zone' && sel.kind === 'zone') return `site:${sel.obj.site_id}`;
  return kind === 'zone' ? opts[0] : '';
}

function CreateDialog({ kind, parent, data, onClose, onDone }) {
  const k = KINDS[kind];
  const form = useForm({ name: '', description: '', parent: defaultParent(kind, parent, data) });
  const submit = form.handle(async (v) => {
    const body = { name: v.name.trim(), ...parentBody(kind, v.parent) };
    if (v.description.trim()) body.description = v.description.trim();
    const created = await api.post(k.path, body);
    onDone(`Created ${k.name} "${created.name}".`, `${kind}:${created.id}`);
  });
  const opts = parentOptions(kind, data);
  return (
    <Modal title={`New ${k.name}`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Create</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={200} />
      {kind !== 'bu' && <SelectField form={form} name="parent" label={kind === 'zone' ? 'Site' : 'Belongs to'} options={opts} required={kind === 'zone'} />}
      <TextArea form={form} name="description" label="Description" maxLength={2000} />
    </Modal>
  );
}

function EditDialog({ node, onClose, onDone }) {
  const k = KINDS[node.kind];
  const form = useForm({ name: node.obj.name, description: node.obj.description || '' });
  const submit = form.handle(async (v) => {
    await api.patch(`${k.path}/${node.obj.id}`, { name: v.name.trim(), description: v.description });
    onDone(`Saved ${k.name} "${v.name.trim()}".`, node.id);
  });
  return (
    <Modal title={`Rename ${k.name}`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Save</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={200} />
      <TextArea form={form} name="description" label="Description" maxLength={2000} />
    </Modal>
  );
}

function MoveDialog({ node, data, onClose, onDone }) {
  const k = KINDS[node.kind];
  const form = useForm({ parent: currentParent(node) });
  const submit = form.handle(async (v) => {
    const body = parentBody(node.kind, v.parent);
    await api.patch(`${k.path}/${node.obj.id}`, body);
    onDone(`Moved ${k.name} "${node.label}".`, node.id);
  });
  // A moved site keeps its zones and their sensors; the API re-checks scope.
  const opts = parentOptions(node.kind, data);
  return (
    <Modal title={`Move ${k.name} "${node.label}"`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Move</Button></>}>
      <FormError form={form} />
      <SelectField form={form} name="parent" label="New parent" options={opts} required={node.kind === 'zone'}
        hint={node.kind === 'zone' ? 'The zone keeps its sensors and their inventory.' : undefined} />
    </Modal>
  );
}

function AssignDialog({ node, data, onClose, onDone }) {
  const candidates = data.sensors.filter((s) => s.status !== 'revoked' && s.zone_id !== node.obj.id);
  const zoneName = new Map(data.zones.map((z) => [z.id, z.name]));
  const [chosen, setChosen] = useState(new Set());
  const form = useForm({});
  const submit = form.handle(async () => {
    for (const id of chosen) await api.patch(`/sensors/${id}`, { zone_id: node.obj.id });
    onDone(`Placed ${chosen.size} sensor${chosen.size === 1 ? '' : 's'} in zone "${node.label}".`, node.id);
  });
  return (
    <Modal title={`Assign sensors to "${node.label}"`} onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy} disabled={!chosen.size}>Assign {chosen.size || ''}</Button></>}>
      <FormError form={form} />
      <p class="muted">A sensor moved from another zone takes its inventory with it.</p>
      {candidates.length === 0 ? <p>No other sensors.</p> : (
        <fieldset class="plain-fieldset">
          <legend class="sr-only">Sensors</legend>
          {candidates.map((s) => (
            <label key={s.id} class="check">
              <input type="checkbox" checked={chosen.has(s.id)} onChange={(e) => {
                const n = new Set(chosen);
                e.currentTarget.checked ? n.add(s.id) : n.delete(s.id);
                setChosen(n);
              }} />
              {s.name} <span class="muted">({s.zone_id ? `zone ${zoneName.get(s.zone_id) || s.zone_id}` : 'not placed'})</span>
            </label>
          ))}
        </fieldset>
      )}
    </Modal>
  );
}
