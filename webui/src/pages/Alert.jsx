// One alert: what it says (message, remediation), where (addresses, devices, site/zone, sensors), when and how
// often, the baseline item "learn" would add, the evidence capture, and its triage history with comments.
// Roles with `triage` close, learn, mute or reopen it (with an optional comment) and add comments.
import { useState } from 'preact/hooks';
import { ACTIONS, AlertStatus, Endpoint, HISTORY_NAMES, Severity, engineName, useAlertNames } from '../components/AlertBits.jsx';
import { Button } from '../components/Button.jsx';
import { FormError, TextArea, useForm } from '../components/Form.jsx';
import { Page, Panel } from '../components/Page.jsx';
import { toast } from '../components/Toast.jsx';
import { api, errorText } from '../lib/api.js';
import { ago, num, time } from '../lib/format.js';
import { useApi } from '../lib/hooks.js';
import { can } from '../lib/session.js';
import '../styles/alerts.css';

export const route = { path: '/alerts/:id', title: 'Alert' };

const LEARN_KINDS = {
  device: 'the device',
  connection: 'the connection (client, server, port)',
  pair_protocol: 'the protocol between these two devices',
  pair_function: 'the function code between these two devices',
  writer: 'this device writing to the server',
  programmer: 'this device as a programming station',
  alert: 'this alert itself (title, source, destination, protocol)',
  arp_binding: 'the address binding (IP to MAC)',
};

function LearnItem({ item }) {
  const items = Array.isArray(item) ? item : [item];
  return (
    <ul class="plain alert-learn">
      {items.map((it, i) => (
        <li key={i}>
          <span class="badge">{it.kind}</span> {LEARN_KINDS[it.kind] || ''}
          <span class="mono muted"> {[it.a, it.b, it.proto, it.code ? `code ${it.code}` : null, it.title].filter(Boolean).join(' · ')}</span>
        </li>
      ))}
    </ul>
  );
}

function Evidence({ a }) {
  if (!a.evidence_available) {
    return <p class="muted" data-testid="no-evidence">No evidence capture: no sensor kept the packets that raised this alert.</p>;
  }
  return (
    <>
      <p>
        <a href={`/api/v1/alerts/${a.id}/pcap`} data-native target="_blank" rel="noopener" class="btn btn-default btn-small">
          Download evidence capture (pcap)
        </a>
      </p>
      <p class="hint">The console fetches it from the sensor that kept it, which must be connected (it waits up to 10 s).
        If that sensor is offline or has dropped it, the new tab says so.</p>
    </>
  );
}

function History({ activity }) {
  if (!activity.length) return <p class="muted">No triage yet.</p>;
  return (
    <ol class="alert-history" aria-label="Triage history">
      {activity.map((e, i) => (
        <li key={i} class={`alert-history-${e.action}`}>
          <div class="alert-history-head">
            <strong>{e.username || 'the console'}</strong> {HISTORY_NAMES[e.action] || e.action}
            <span class="muted" title={time(e.at)}> · {ago(e.at)}</span>
          </div>
          {e.comment && <blockquote class="alert-comment">{e.comment}</blockquote>}
        </li>
      ))}
    </ol>
  );
}

function Triage({ a, onDone }) {
  const form = useForm({ comment: '' });
  const [busy, setBusy] = useState('');
  const comment = form.values.comment.trim();
  const act = (action) => form.handle(async () => {
    setBusy(action);
    try {
      const body = { action };
      if (comment) body.comment = comment;
      await api.post(`/alerts/${a.id}/actions`, body);
      toast.ok(`${ACTIONS[action].verb} alert ${a.id}.`);
      form.reset();
      onDone();
    } finally {
      setBusy('');
    }
  });
  const addComment = form.handle(async () => {
    if (!comment) {
      form.setErrors({ comment: 'Write a comment first.' });
      return;
    }
    setBusy('comment');
    try {
      await api.post(`/alerts/${a.id}/comments`, { comment });
      toast.ok('Comment added.');
      form.reset();
      onDone();
    } finally {
      setBusy('');
    }
  });
  const actions = a.status === 'new' ? ['close', 'learn', 'mute'] : ['reopen'];
  return (
    <form class="alert-triage" onSubmit={addComment} aria-label="Triage">
      <FormError form={form} />
      <TextArea form={form} name="comment" label="Comment" maxLength={4000}
        hint="Goes with the action you choose, or on its own with Add comment." />
      <div class="alert-triage-buttons">
        <Button type="submit" loading={busy === 'comment'} disabled={!!busy}>Add comment</Button>
        {actions.filter((x) => x !== 'learn' || a.learnable).map((x) => (
          <Button key={x} variant={x === 'learn' || x === 'reopen' ? 'primary' : 'default'} loading={busy === x}
            disabled={!!busy && busy !== x} onClick={act(x)}>{ACTIONS[x].label}</Button>
        ))}
      </div>
      {a.status === 'new' && (
        <ul class="alert-triage-help hint">
          <li><strong>Close</strong>: {ACTIONS.close.help}</li>
          {a.learnable
            ? <li><strong>Learn</strong>: {ACTIONS.learn.help}</li>
            : <li>Learn is not offered: this alert has no baseline item to add.</li>}
          <li><strong>Mute</strong>: {ACTIONS.mute.help}</li>
        </ul>
      )}
      {a.status !== 'new' && <p class="hint">{ACTIONS.reopen.help}</p>}
    </form>
  );
}

export default function AlertPage({ params }) {
  const res = useApi(`/alerts/${encodeURIComponent(params.id)}`, { live: ['alert'] });
  const names = useAlertNames();
  const n = names.data;
  const a = res.data;
  const mayTriage = can('triage');

  if (!a) {
    return (
      <Page title={`Alert ${params.id}`}>
        {res.error ? (
          <p class="form-error" role="alert">
            {res.error.status === 404 ? 'No such alert: it was deleted by retention, or it is outside your access groups.' : errorText(res.error)}
            {' '}<a href="/alerts">Back to the alerts</a>
          </p>
        ) : <p role="status">Loading…</p>}
      </Page>
    );
  }
  return (
    <Page title={a.title} subtitle={<span class="alert-subtitle"><Severity value={a.severity} /> <AlertStatus value={a.status} />
      <span class="muted">Alert {a.id} · {engineName(a.engine)}{a.protocol ? ` · ${a.protocol}` : ''}</span></span>}
      actions={<a href="/alerts" class="btn btn-default btn-small">All alerts</a>}>
      <div class="alert-detail">
        <div class="alert-main">
          <Panel title="What happened">
            <p class="alert-message">{a.message}</p>
            {a.remediation && (<><h3>Remediation</h3><p class="alert-message">{a.remediation}</p></>)}
          </Panel>
          <Panel title="Traffic">
            <dl class="facts">
              <dt>Source</dt><dd><Endpoint ep={a.src} long /></dd>
              <dt>Destination</dt><dd><Endpoint ep={a.dst} long /></dd>
              <dt>Protocol</dt><dd>{a.protocol || '—'}</dd>
              <dt>Site / zone</dt><dd>{n ? n.place(a) : '…'}</dd>
              <dt>Sensors</dt><dd>{(a.sensor_ids && a.sensor_ids.length ? a.sensor_ids : [a.sensor_id]).map((s) => n ? n.sensor(s) : s).join(', ')}</dd>
            </dl>
          </Panel>
          <Panel title="Baseline item">
            {a.learn ? <><p class="muted">Learning this alert adds to the zone's baseline:</p><LearnItem item={a.learn} /></>
              : <p class="muted">None: learning is not offered for this alert.</p>}
          </Panel>
          <Panel title="Evidence"><Evidence a={a} /></Panel>
        </div>
        <div class="alert-side">
          <Panel title="Timeline">
            <dl class="facts">
              <dt>First seen</dt><dd>{time(a.detected_at)}</dd>
              <dt>Last seen</dt><dd>{time(a.last_seen)} <span class="muted">({ago(a.last_seen)})</span></dd>
              <dt>Occurrences</dt><dd>{num(a.occurrences)}</dd>
              <dt>Received</dt><dd>{time(a.received_at)}</dd>
              <dt>Status since</dt><dd>{a.status_changed_at ? time(a.status_changed_at) : '—'}</dd>
            </dl>
          </Panel>
          {mayTriage && <Panel title="Triage"><Triage a={a} onDone={res.reload} /></Panel>}
          <Panel title="History"><History activity={a.activity || []} /></Panel>
        </div>
      </div>
    </Page>
  );
}
