// Bulk actions on the inventory's selected rows, for roles with editInventory (the page renders this only for
// them): mark authorized / unauthorized, set importance (one PATCH /devices/{id} per device, a few at a time), and
// merge duplicates into one chosen device (POST /devices/merge) after a dialog that says what merging does.
//
//   <InventoryBulk selection={sel} rows={page.items} places={places} onDone={() => page.reload()} />
import { useState } from 'preact/hooks';
import { Button } from './Button.jsx';
import { FormError } from './Form.jsx';
import { Modal } from './Modal.jsx';
import { toast } from './Toast.jsx';
import { AuthorizedBadge, deviceName, siteLabel, typeName, zoneLabel } from './DeviceBits.jsx';
import { api, errorText } from '../lib/api.js';
import { ago } from '../lib/format.js';

/** PATCHes body into every id, at most 4 at once; resolves with the failures [{id, err}]. */
async function patchAll(ids, body) {
  const failed = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        await api.patch(`/devices/${id}`, body);
      } catch (err) {
        failed.push({ id, err });
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return failed;
}

export function InventoryBulk({ selection, rows, places, onDone }) {
  const [busy, setBusy] = useState('');
  const [importance, setImportance] = useState('');
  const [merging, setMerging] = useState(false);
  const n = selection.size;
  if (n === 0) return null;
  const byId = new Map((rows || []).map((r) => [r.id, r]));
  const chosen = selection.ids().map((id) => byId.get(id)).filter(Boolean);

  const run = async (what, body, done) => {
    setBusy(what);
    const ids = selection.ids();
    const failed = await patchAll(ids, body);
    setBusy('');
    if (failed.length === 0) toast.ok(`${done} ${ids.length} device${ids.length === 1 ? '' : 's'}.`);
    else toast.error(`${done} ${ids.length - failed.length} of ${ids.length} devices; ${failed.length} failed: ${errorText(failed[0].err)}`);
    selection.clear();
    onDone();
  };
  const impValue = importance === 'none' ? null : importance;
  return (
    <div class="inv-bulk" role="region" aria-label="Bulk actions">
      <strong>{n} selected</strong>
      <Button small loading={busy === 'auth'} disabled={!!busy} onClick={() => run('auth', { authorized: true }, 'Marked authorized:')}>Mark authorized</Button>
      <Button small loading={busy === 'unauth'} disabled={!!busy} onClick={() => run('unauth', { authorized: false }, 'Marked unauthorized:')}>Mark unauthorized</Button>
      <span class="row inv-bulk-imp">
        <label for="inv-bulk-imp">Importance</label>
        <select id="inv-bulk-imp" value={importance} onChange={(e) => setImportance(e.currentTarget.value)}>
          <option value="">Choose…</option>
          <option value="high">High</option>
          <option value="medium">Medium</option>
          <option value="low">Low</option>
          <option value="none">None (clear)</option>
        </select>
        <Button small loading={busy === 'imp'} disabled={!importance || !!busy}
          onClick={() => run('imp', { importance: impValue }, `Set importance ${impValue || 'none'} on`)}>Set importance</Button>
      </span>
      <Button small disabled={n < 2 || !!busy} title={n < 2 ? 'Select two or more devices to merge' : undefined}
        onClick={() => setMerging(true)}>Merge…</Button>
      <Button small variant="ghost" onClick={() => selection.clear()}>Clear selection</Button>
      {merging && <MergeDialog devices={chosen} places={places} onClose={() => setMerging(false)}
        onMerged={(into, count) => {
          setMerging(false);
          selection.clear();
          toast.ok(`Merged ${count} device${count === 1 ? '' : 's'} into "${deviceName(into)}".`);
          onDone();
        }} />}
    </div>
  );
}

function MergeDialog({ devices, places, onClose, onMerged }) {
  const sorted = devices.slice().sort((a, b) => a.id - b.id);
  const [into, setInto] = useState(sorted.length ? sorted[0].id : null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const zones = new Set(sorted.map((d) => d.zone_id));
  const oneZone = zones.size === 1;
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const ids = sorted.map((d) => d.id).filter((id) => id !== into);
      const target = await api.post('/devices/merge', { ids, into });
      onMerged(target, ids.length);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal wide title={`Merge ${sorted.length} devices into one`} onClose={onClose}
      footer={<><Button onClick={onClose}>Cancel</Button>
        <Button variant="danger" loading={busy} disabled={!oneZone || !into} onClick={submit}>Merge into the chosen device</Button></>}>
      <FormError error={error ? errorText(error) : null} />
      <p>Merging says these records are <strong>one physical device</strong> (for example one seen with two network
        cards, or again after a readdressing). The device you keep then shows the addresses, protocols and sensors of
        all of them; its name, importance, description and overrides are filled from the others where it has none; tags
        and &ldquo;authorized&rdquo; add up. The other records leave the inventory (their pages answer &ldquo;not
        found&rdquo;) and later sensor reports about them update the kept device. <strong>A merge cannot be undone.</strong></p>
      {!oneZone && <p class="form-error" role="alert">These devices are in different zones. Only devices of one zone can be
        merged: select devices of a single zone.</p>}
      <fieldset class="plain-fieldset">
        <legend>Keep this device</legend>
        <ul class="plain inv-merge-list">
          {sorted.map((d) => (
            <li key={d.id}>
              <label class="check">
                <input type="radio" name="merge-into" checked={into === d.id} onChange={() => setInto(d.id)} />
                <span><strong>{deviceName(d)}</strong> <span class="muted">#{d.id}</span> · {typeName(d.type)}
                  {d.ips.length > 0 && <> · <span class="mono">{d.ips.join(', ')}</span></>}
                  {d.macs.length > 0 && <> · <span class="mono">{d.macs.join(', ')}</span></>}
                  {' '}· {siteLabel(places, d.site_id)} / {zoneLabel(places, d.zone_id)} · seen {ago(d.last_seen)} <AuthorizedBadge value={d.authorized} /></span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
    </Modal>
  );
}
