// Saved views of a list page: the caller's own and shared named sets of URL parameters (/api/v1/saved-views,
// page "inventory", "alerts" or "map"). Choosing one puts its parameters in the page's URL with view=<id>; saving
// stores the current ones; the owner (or an admin, for a shared view) deletes one. A view shows as chosen only
// while the URL still holds its parameters (the page may also drop view= on any filter change).
//
//   <SavedViews page="alerts" current={query.get('view')} params={{ status: 'new', severity: 'critical' }}
//     none="none (status: new)" />
//
// params: the page's current parameters that a view keeps (filters, sort, page size; empty values are left out).
// path: the page's path (default /<page>). none: what "no parameters" means on this page, for the save dialog.
import { useState } from 'preact/hooks';
import { Button } from './Button.jsx';
import { Field, FormError, useForm } from './Form.jsx';
import { Modal, confirm } from './Modal.jsx';
import { toast } from './Toast.jsx';
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import { can } from '../lib/session.js';

const str = (v) => (Array.isArray(v) ? v.join(',') : String(v));

/** The non-empty parameters, as strings. */
function clean(params) {
  const out = {};
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') out[k] = str(v);
  return out;
}

function same(a, b) {
  const x = clean(a);
  const y = clean(b);
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => x[k] === y[k]);
}

export function SavedViews({ page, current, params, path = `/${page}`, none = 'no filters' }) {
  const views = useApi('/saved-views', { query: { page } });
  const [saving, setSaving] = useState(false);
  const items = (views.data && views.data.items) || [];
  const picked = items.find((v) => String(v.id) === current);
  const cur = picked && same(picked.query, params) ? picked : null;
  const id = `saved-view-${page}`;

  const apply = (view) => {
    const q = new URLSearchParams(clean(view.query));
    q.set('view', String(view.id));
    navigate(`${path}?${q}`, { replace: true });
  };
  const onPick = (e) => {
    const v = items.find((x) => String(x.id) === e.currentTarget.value);
    if (v) apply(v);
    else navigate(path, { replace: true });
  };
  const remove = async () => {
    const ok = await confirm({
      title: `Delete view "${cur.name}"?`,
      message: cur.shared ? 'It is shared: it disappears for every user. Nothing else changes.' : 'Only the view goes; nothing else changes.',
      confirmLabel: 'Delete view',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/saved-views/${cur.id}`);
      toast.ok(`Deleted view "${cur.name}".`);
      const q = new URLSearchParams(clean(params)).toString();
      navigate(q ? `${path}?${q}` : path, { replace: true });
      views.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  return (
    <div class="saved-views">
      <label for={id} class="sr-only">Saved view</label>
      <select id={id} value={cur ? String(cur.id) : ''} onChange={onPick} aria-describedby={views.error ? `${id}-err` : undefined}>
        <option value="">{items.length ? 'Saved views…' : 'No saved views'}</option>
        {items.map((v) => (
          <option key={v.id} value={String(v.id)}>{v.name}{v.shared ? (v.mine ? ' (shared)' : ` (shared by ${v.owner})`) : ''}</option>
        ))}
      </select>
      {views.error && <span id={`${id}-err`} class="field-error" role="alert">Saved views could not be loaded.</span>}
      <Button small onClick={() => setSaving(true)}>Save view</Button>
      {cur && (cur.mine || (cur.shared && can('admin'))) && <Button small variant="ghost" onClick={remove}>Delete view</Button>}
      {saving && <SaveDialog page={page} params={params} none={none} onClose={() => setSaving(false)}
        onSaved={(v) => { setSaving(false); views.reload(); toast.ok(`Saved view "${v.name}".`); apply(v); }} />}
    </div>
  );
}

function SaveDialog({ page, params, none, onClose, onSaved }) {
  const form = useForm({ name: '', shared: false });
  const query = clean(params);
  const submit = form.handle(async (v) => {
    onSaved(await api.post('/saved-views', { page, name: v.name.trim(), query, shared: !!v.shared }));
  });
  const shown = Object.entries(query).map(([k, v]) => `${k}=${v}`).join(', ');
  return (
    <Modal title="Save the current filters as a view" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Save view</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={100} hint="Unique among your views." />
      <label class="check">
        <input type="checkbox" checked={form.values.shared} onChange={(e) => form.set('shared', e.currentTarget.checked)} />
        Share with every user (they see it in their list; only you can change it)
      </label>
      <p class="muted">Keeps: {shown || none}</p>
    </Modal>
  );
}
