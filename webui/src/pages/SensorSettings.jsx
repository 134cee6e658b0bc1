// Sensor settings: the document a zone's sensors get (subnets, VLAN names, port names, DHCP ranges, learning quiet
// period), and a sensor's own overrides of it (a member it leaves unset is inherited from the zone). Everyone may
// view; analysts and admins edit in their scope. A 400 names the member at fault (`subnets[1]`, `vlan_names.5000`,
// `dhcp_ranges[0].end`) and the message shows under that input. docs/architecture.md, "Sensor settings".
import { useEffect, useRef, useState } from 'preact/hooks';
import { useEstate } from '../components/AdminKit.jsx';
import { Button } from '../components/Button.jsx';
import { FormError } from '../components/Form.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { toast } from '../components/Toast.jsx';
import { ApiError, api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';
import { setQuery } from '../lib/router.js';
import { can } from '../lib/session.js';
import '../styles/admin.css';

export const route = { path: '/sensor-settings', title: 'Sensor settings', nav: { group: 'Administration', order: 70 } };

/** The API document -> editor state (maps become rows; null stays null: inherited). */
function toState(doc) {
  const rows = (m) => (m ? Object.entries(m).map(([k, v]) => ({ key: k, name: v })) : null);
  return {
    subnets: doc.subnets ? [...doc.subnets] : null,
    vlan_names: rows(doc.vlan_names),
    port_names: rows(doc.port_names),
    dhcp_ranges: doc.dhcp_ranges ? doc.dhcp_ranges.map((r) => ({ ...r })) : null,
    learning_quiet_period: doc.learning_quiet_period === null || doc.learning_quiet_period === undefined ? null : String(doc.learning_quiet_period),
  };
}

function toDoc(st) {
  const map = (rows) => (rows === null ? null : Object.fromEntries(rows.filter((r) => r.key.trim() || r.name.trim()).map((r) => [r.key.trim(), r.name.trim()])));
  return {
    subnets: st.subnets === null ? null : st.subnets.map((s) => s.trim()).filter(Boolean),
    vlan_names: map(st.vlan_names),
    port_names: map(st.port_names),
    dhcp_ranges: st.dhcp_ranges === null ? null : st.dhcp_ranges.filter((r) => r.start.trim() || r.end.trim()).map((r) => ({ start: r.start.trim(), end: r.end.trim() })),
    learning_quiet_period: st.learning_quiet_period === null || st.learning_quiet_period === '' ? null : Number(st.learning_quiet_period),
  };
}

let seq = 0;
function Input({ label, value, onInput, error, readOnly, ...rest }) {
  const id = useRef(`ss-${++seq}`).current;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id} class="sr-only">{label}</label>
      <input id={id} value={value} readOnly={readOnly} onInput={(e) => onInput(e.currentTarget.value)} aria-label={label}
        aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-err` : undefined} {...rest} />
      {error && <div class="field-error" id={`${id}-err`}>{error}</div>}
    </div>
  );
}

async function load(target, signal) {
  const [kind, id] = [target.slice(0, target.indexOf(':')), target.slice(target.indexOf(':') + 1)];
  const base = kind === 'zone' ? `/zones/${id}` : `/sensors/${id}`;
  const [own, effective] = await Promise.all([
    api.get(`${base}/settings`, { signal }),
    kind === 'sensor' ? api.get(`${base}/settings/effective`, { signal }) : Promise.resolve(null),
  ]);
  return { kind, id, base, own, effective };
}

export default function SensorSettingsPage({ query }) {
  const est = useEstate();
  const e = est.data;
  const target = query.get('target') || '';
  const res = useApi((signal) => load(target, signal), { deps: [target], enabled: !!target });
  return (
    <Page title="Sensor settings" subtitle="What sensors know about their network: subnets, VLAN and port names, DHCP ranges. A sensor inherits its zone's settings and may override them.">
      <div class="admin-picker">
        <label class="admin-stack">Settings of
          <select value={target} onChange={(ev) => setQuery({ target: ev.currentTarget.value || null })}>
            <option value="">Choose a zone or a sensor…</option>
            {e && (
              <>
                <optgroup label="Zones (every sensor of the zone)">
                  {e.zoneOptions.map((o) => <option key={o.value} value={`zone:${o.value}`}>Zone: {o.label}</option>)}
                </optgroup>
                <optgroup label="Sensors (overrides of the zone's)">
                  {e.sensorOptions.map((o) => <option key={o.value} value={`sensor:${o.value}`}>Sensor: {o.label}</option>)}
                </optgroup>
              </>
            )}
          </select>
        </label>
      </div>
      {!target && <p class="muted">Choose a zone to edit what all its sensors get, or a sensor to override its zone's settings for that sensor only.</p>}
      {target && res.error && <FormError error={res.error} />}
      {target && res.data && res.data.kind + ':' + res.data.id === target && (
        <Editor key={target} data={res.data} est={e} onSaved={() => res.reload()} />
      )}
    </Page>
  );
}

function Editor({ data, est, onSaved }) {
  const isSensor = data.kind === 'sensor';
  const edit = can('editSensorSettings');
  const [st, setSt] = useState(() => toState(data.own));
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const root = useRef(null);
  useEffect(() => {
    if (!dirty) setSt(toState(data.own));
  }, [data.own]);

  const upd = (member, v) => {
    setSt((s) => ({ ...s, [member]: v }));
    setDirty(true);
    setErrors((er) => Object.fromEntries(Object.entries(er).filter(([k]) => !k.startsWith(member))));
  };
  const rowUpd = (member, i, patch) => upd(member, st[member].map((r, j) => (j === i ? (typeof r === 'string' ? patch : { ...r, ...patch }) : r)));

  const save = async (ev) => {
    ev.preventDefault();
    setBanner(null);
    setErrors({});
    // Two rows naming the same VLAN or port would silently become one: say so before sending.
    for (const m of ['vlan_names', 'port_names']) {
      const seen = new Set();
      for (const r of st[m] || []) {
        if (seen.has(r.key.trim())) {
          setErrors({ [`${m}.${r.key.trim()}`]: `${r.key.trim()} is named twice.` });
          return;
        }
        seen.add(r.key.trim());
      }
    }
    setBusy(true);
    try {
      await api.put(`${data.base}/settings`, toDoc(st));
      setDirty(false);
      toast.ok(`Saved the settings of ${label}. Connected sensors get them at once.`);
      onSaved();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.field) {
        // The message may repeat the path ("dhcp_ranges[0].end: ..."): the input it sits under says that already.
        const prefix = `${err.field}: `;
        setErrors({ [err.field]: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message });
        setTimeout(() => {
          const bad = root.current && root.current.querySelector('[aria-invalid="true"]');
          if (bad) bad.focus();
          else setBanner(`${err.field}: ${err.message}`);
        }, 0);
      } else {
        setBanner(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const label = isSensor ? `sensor "${est ? est.sensorLabel(data.id) : data.id}"` : `zone "${est ? est.zoneLabel(Number(data.id)) : data.id}"`;
  const Section = ({ member, title, hint, children, onAdd, addLabel }) => {
    const inherited = st[member] === null;
    return (
      <Panel class="admin-section" title={title} actions={isSensor && edit && (
        <label class="check admin-inherit">
          <input type="checkbox" checked={inherited} onChange={(ev) => upd(member, ev.currentTarget.checked ? null : member === 'learning_quiet_period' ? '' : [])} />
          Inherit from the zone
        </label>
      )}>
        {hint && <p class="hint">{hint}</p>}
        {inherited && isSensor ? <p class="muted">Inherited from the zone (see the effective settings).</p> : children}
        {errors[member] && <div class="field-error">{errors[member]}</div>}
        {!inherited && edit && onAdd && <Button small onClick={onAdd}>{addLabel}</Button>}
      </Panel>
    );
  };
  const remove = (member, i) => upd(member, st[member].filter((_, j) => j !== i));
  const ro = !edit;

  return (
    <form class="admin-settings" onSubmit={save} ref={root} noValidate>
      <div>
        {banner && <FormError error={banner} />}
        {Section({
          member: 'subnets', title: 'Subnets', hint: 'The plant\'s own networks (CIDR, e.g. 10.1.2.0/24): addresses outside them are external.',
          onAdd: () => upd('subnets', [...st.subnets, '']), addLabel: 'Add subnet',
          children: (st.subnets || []).length === 0 ? <p class="muted">None.</p> : st.subnets.map((s, i) => (
            <div class="admin-list-row" key={i}>
              <Input label={`Subnet ${i + 1}`} value={s} readOnly={ro} onInput={(v) => rowUpd('subnets', i, v)} error={errors[`subnets[${i}]`]} placeholder="10.1.2.0/24" />
              {edit && <Button small variant="ghost" onClick={() => remove('subnets', i)} aria-label={`Remove subnet ${i + 1}`}>Remove</Button>}
            </div>
          )),
        })}
        {['vlan_names', 'port_names'].map((m) => Section({
          member: m, title: m === 'vlan_names' ? 'VLAN names' : 'Port names',
          hint: m === 'vlan_names' ? 'VLAN id (1-4094) and its name.' : 'TCP/UDP port (1-65535) and the service name to show.',
          onAdd: () => upd(m, [...st[m], { key: '', name: '' }]), addLabel: m === 'vlan_names' ? 'Add VLAN name' : 'Add port name',
          children: (st[m] || []).length === 0 ? <p class="muted">None.</p> : st[m].map((r, i) => {
            const what = m === 'vlan_names' ? 'VLAN' : 'Port';
            return (
              <div class="admin-list-row" key={i}>
                <div class="admin-narrow"><Input label={`${what} ${i + 1} number`} value={r.key} readOnly={ro} inputMode="numeric"
                  onInput={(v) => rowUpd(m, i, { key: v })} placeholder={m === 'vlan_names' ? '10' : '502'} /></div>
                <Input label={`${what} ${i + 1} name`} value={r.name} readOnly={ro} onInput={(v) => rowUpd(m, i, { name: v })}
                  error={errors[`${m}.${r.key.trim()}`]} maxLength={64} />
                {edit && <Button small variant="ghost" onClick={() => remove(m, i)} aria-label={`Remove ${what.toLowerCase()} ${i + 1}`}>Remove</Button>}
              </div>
            );
          }),
        }))}
        {Section({
          member: 'dhcp_ranges', title: 'DHCP ranges', hint: 'Addresses handed out by DHCP: devices there are identified by MAC, not by address.',
          onAdd: () => upd('dhcp_ranges', [...st.dhcp_ranges, { start: '', end: '' }]), addLabel: 'Add DHCP range',
          children: (st.dhcp_ranges || []).length === 0 ? <p class="muted">None.</p> : st.dhcp_ranges.map((r, i) => (
            <div key={i}>
              <div class="admin-list-row">
                <Input label={`DHCP range ${i + 1} start`} value={r.start} readOnly={ro} onInput={(v) => rowUpd('dhcp_ranges', i, { start: v })}
                  error={errors[`dhcp_ranges[${i}].start`]} placeholder="10.1.2.100" />
                <Input label={`DHCP range ${i + 1} end`} value={r.end} readOnly={ro} onInput={(v) => rowUpd('dhcp_ranges', i, { end: v })}
                  error={errors[`dhcp_ranges[${i}].end`]} placeholder="10.1.2.199" />
                {edit && <Button small variant="ghost" onClick={() => remove('dhcp_ranges', i)} aria-label={`Remove DHCP range ${i + 1}`}>Remove</Button>}
              </div>
              {errors[`dhcp_ranges[${i}]`] && <div class="field-error">{errors[`dhcp_ranges[${i}]`]}</div>}
            </div>
          )),
        })}
        {Section({
          member: 'learning_quiet_period', title: 'Learning quiet period',
          hint: 'Learning ends after this many seconds of packet time without a new baseline item (60 to 31536000; empty: 7 days).',
          children: (
            <div class="admin-list-row">
              <Input label="Learning quiet period in seconds" value={st.learning_quiet_period ?? ''} readOnly={ro} inputMode="numeric"
                onInput={(v) => upd('learning_quiet_period', v)} error={errors.learning_quiet_period} placeholder="604800" />
            </div>
          ),
        })}
        {edit && (
          <div class="admin-savebar">
            {dirty && <span class="muted">Unsaved changes</span>}
            <Button onClick={() => { setSt(toState(data.own)); setErrors({}); setDirty(false); }} disabled={!dirty}>Discard changes</Button>
            <Button type="submit" variant="primary" loading={busy}>Save settings</Button>
          </div>
        )}
      </div>
      <aside>
        {isSensor ? <Effective doc={data.effective} /> : (
          <Panel title="Applies to">
            <p class="muted">Every sensor of this zone, except for what a sensor overrides. Saving pushes the settings to the connected sensors at once.</p>
          </Panel>
        )}
      </aside>
    </form>
  );
}

function Effective({ doc }) {
  if (!doc) return null;
  const map = (m) => Object.entries(m || {}).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
  return (
    <Panel title="Effective settings" class="admin-effective">
      <p class="hint">What this sensor gets: the zone's settings overlaid by its own (as last saved).</p>
      <dl class="facts" data-testid="effective-settings">
        <dt>Subnets</dt><dd>{(doc.subnets || []).join(', ') || '—'}</dd>
        <dt>VLANs</dt><dd>{map(doc.vlan_names)}</dd>
        <dt>Ports</dt><dd>{map(doc.port_names)}</dd>
        <dt>DHCP</dt><dd>{(doc.dhcp_ranges || []).map((r) => `${r.start}–${r.end}`).join(', ') || '—'}</dd>
        <dt>Quiet period</dt><dd>{doc.learning_quiet_period ? `${doc.learning_quiet_period} s` : 'default (7 days)'}</dd>
      </dl>
    </Panel>
  );
}
