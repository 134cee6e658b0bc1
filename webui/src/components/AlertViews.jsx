// Saved views of the alerts list: the caller's own and shared named filter sets (/api/v1/saved-views, page
// "alerts"). Choosing one puts its filters in the URL (with view=<id>, which any filter change drops); saving
// stores the current filters.
//
//   <AlertViews current={query.get('view')} filters={{ status: 'new', severity: 'critical' }} />
import { useState } from 'preact/hooks';
import { Button } from './Button.jsx';
import { FormError, Field, useForm } from './Form.jsx';
import { Modal, confirm } from './Modal.jsx';
import { toast } from './Toast.jsx';
import { api } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import { can } from '../lib/session.js';

function apply(view) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(view.query || {})) q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  q.set('view', String(view.id));
  navigate(`/alerts?${q}`, { replace: true });
}

export function AlertViews({ current, filters }) {
  const views = useApi('/saved-views', { query: { page: 'alerts' } });
  const [saving, setSaving] = useState(false);
  const items = (views.data && views.data.items) || [];
  const cur = items.find((v) => String(v.id) === current);
  const onPick = (e) => {
    const id = e.currentTarget.value;
    if (!id) {
      navigate('/alerts', { replace: true });
      return;
    }
    const v = items.find((x) => String(x.id) === id);
    if (v) apply(v);
  };
  const remove = async () => {
    if (!(await confirm({ title: `Delete view "${cur.name}"?`, message: cur.shared ? 'It is shared: it disappears for everybody.' : 'Only the view goes; no alert changes.', confirmLabel: 'Delete view', danger: true }))) return;
    try {
      await api.del(`/saved-views/${cur.id}`);
      toast.ok(`Deleted view "${cur.name}".`);
      navigate('/alerts?' + new URLSearchParams(Object.entries(filters).filter(([, v]) => v)), { replace: true });
      views.reload();
    } catch (err) {
      toast.error(err);
    }
  };
  return (
    <div class="alert-views">
      <label for="alert-view" class="sr-only">Saved view</label>
      <select id="alert-view" value={cur ? String(cur.id) : ''} onChange={onPick} aria-describedby={views.error ? 'alert-view-err' : undefined}>
        <option value="">{items.length ? 'Saved views…' : 'No saved views'}</option>
        {items.map((v) => (
          <option key={v.id} value={String(v.id)}>{v.name}{v.shared ? (v.mine ? ' (shared)' : ` (shared by ${v.owner})`) : ''}</option>
        ))}
      </select>
      {views.error && <span id="alert-view-err" class="field-error">Saved views could not be loaded.</span>}
      <Button small onClick={() => setSaving(true)}>Save view</Button>
      {cur && (cur.mine || can('admin')) && <Button small variant="ghost" onClick={remove}>Delete view</Button>}
      {saving && <SaveDialog filters={filters} onClose={() => setSaving(false)}
        onSaved={(v) => { setSaving(false); views.reload(); toast.ok(`Saved view "${v.name}".`); apply(v); }} />}
    </div>
  );
}

function SaveDialog({ filters, onClose, onSaved }) {
  const form = useForm({ name: '', shared: false });
  const query = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const submit = form.handle(async (v) => {
    const view = await api.post('/saved-views', { page: 'alerts', name: v.name.trim(), query, shared: !!v.shared });
    onSaved(view);
  });
  return (
    <Modal title="Save the current filters as a view" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Save view</Button></>}>
      <FormError form={form} />
      <Field form={form} name="name" label="Name" required maxLength={100} hint="Unique among your views." />
      <label class="check">
        <input type="checkbox" checked={form.values.shared} onChange={(e) => form.set('shared', e.currentTarget.checked)} />
        Share with every user (they see it in their list; only you can change it)
      </label>
      <p class="muted">Filters: {Object.keys(query).length ? Object.entries(query).map(([k, v]) => `${k}=${v}`).join(', ') : 'none (status: new)'}</p>
    </Modal>
  );
}
