// The triage confirmation for one or many alerts: what the action does, an optional comment, and the request.
//
//   <AlertTriageDialog action="learn" ids={[12, 13]} onClose={...} onDone={(result) => ...} />
// One id posts /alerts/{id}/actions, several post /alerts/actions; onDone receives
// { updated, unchanged, not_found, not_learnable } either way.
import { Button } from './Button.jsx';
import { FormError, TextArea, useForm } from './Form.jsx';
import { Modal } from './Modal.jsx';
import { ACTIONS, plural } from './AlertBits.jsx';
import { api } from '../lib/api.js';

export async function triage(ids, action, comment) {
  const body = { action };
  if (comment && comment.trim()) body.comment = comment.trim();
  return api.post('/alerts/actions', { ids, ...body });
}

/** A sentence for a bulk result: what changed, and what did not and why. */
export function triageSummary(action, r) {
  const a = ACTIONS[action];
  const parts = [];
  if (r.updated) parts.push(`${a.verb} ${plural(r.updated, 'alert')}.`);
  if (r.unchanged) parts.push(`${plural(r.unchanged, 'alert was', 'alerts were')} ${a.to} already.`);
  return parts.join(' ') || 'Nothing changed.';
}

export function triageProblems(r) {
  const out = [];
  if (r.not_found && r.not_found.length) {
    out.push(`${plural(r.not_found.length, 'alert')} not found (${r.not_found.join(', ')}): deleted, or outside your access groups.`);
  }
  if (r.not_learnable && r.not_learnable.length) {
    out.push(`${plural(r.not_learnable.length, 'alert')} (${r.not_learnable.join(', ')}) ` +
      'have no baseline item to learn: close or mute them instead.');
  }
  return out;
}

export function AlertTriageDialog({ action, ids, onClose, onDone }) {
  const a = ACTIONS[action];
  const form = useForm({ comment: '' });
  const title = `${a.label} ${plural(ids.length, 'alert')}`;
  const submit = form.handle(async (v) => {
    const r = await triage(ids, action, v.comment);
    onDone(r);
  });
  return (
    <Modal title={title} onClose={onClose} onSubmit={submit}
      footer={<>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" loading={form.busy}>{title}</Button>
      </>}>
      <FormError form={form} />
      <p class={action === 'learn' ? 'notice' : ''}>{a.help}</p>
      <TextArea form={form} name="comment" label="Comment (optional)" maxLength={4000}
        hint="Kept in each alert's history and in the audit log." />
    </Modal>
  );
}
