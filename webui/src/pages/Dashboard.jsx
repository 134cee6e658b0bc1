// The dashboard: sensors up and down, open alerts, alerts per hour by severity (last 24 h), devices by type and
// by site. Counts come from the console's aggregate routes (/stats/summary, /stats/alerts), refreshed on live
// events, so they are exact whatever the estate's size.
import { Panel, Page } from '../components/Page.jsx';
import { BarList, StackedBars } from '../components/Chart.jsx';
import { errorText } from '../lib/api.js';
import { useApi } from '../lib/hooks.js';
import { num, time } from '../lib/format.js';

export const route = { path: '/', title: 'Dashboard', nav: { group: 'Overview', order: 10 } };

const SEVERITIES = ['critical', 'major', 'minor', 'warning'];
const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function Stat({ label, value, tone, href, testid }) {
  const body = <><div class={`stat-value ${tone || ''}`}>{num(value)}</div><div class="stat-label">{label}</div></>;
  return <div class="stat" data-testid={testid}>{href ? <a href={href} class="stat-link">{body}</a> : body}</div>;
}

function Failed({ error }) {
  return <p class="form-error" role="alert">{error.status === 404 ? 'This console does not offer these counts yet.' : errorText(error)}</p>;
}

export default function Dashboard() {
  const sum = useApi('/stats/summary', { live: ['sensor', 'alert', 'inventory', 'device'], debounce: 2000 });
  const hist = useApi('/stats/alerts', { query: { bucket: 'hour' }, live: ['alert'], debounce: 2000 });
  const s = sum.data;
  return (
    <Page title="Dashboard" subtitle={s ? `Counts as of ${time(s.at)}` : undefined}>
      {sum.error && !s && <Failed error={sum.error} />}
      {s && (
        <div class="grid grid-4" data-testid="dashboard-stats">
          <Stat label="Sensors connected" value={s.sensors.connected} tone="status-up" href="/sensors" testid="sensors-up" />
          <Stat label="Sensors disconnected" value={s.sensors.disconnected} tone={s.sensors.disconnected ? 'status-down' : ''} href="/sensors" testid="sensors-down" />
          <Stat label="Open alerts" value={s.alerts.open} tone={s.alerts.open ? 'sev-major' : ''} href="/alerts" testid="alerts-open" />
          <Stat label="Devices" value={s.devices.total} href="/devices" testid="devices-total" />
        </div>
      )}
      <Panel title="Alerts per hour, last 24 hours" class="dash-row">
        {hist.error && !hist.data && <Failed error={hist.error} />}
        {hist.data && hist.data.series.every((p) => SEVERITIES.every((k) => !p[k])) && (
          <p class="muted">No alerts were detected in the last 24 hours.</p>
        )}
        {hist.data && (
          <StackedBars series={hist.data.series} keys={SEVERITIES} title="Alerts per hour by severity"
            label={(t) => hhmm.format(new Date(t))} />
        )}
        {s && (
          <p class="muted">
            Open now: {SEVERITIES.map((k) => <span key={k} class={`sev-${k} sev-count`}>{num(s.alerts.open_by_severity[k] || 0)} {k}</span>)}
          </p>
        )}
      </Panel>
      {s && (
        <div class="grid grid-3 dash-row">
          <Panel title="Sensors">
            <dl class="facts">
              <dt>Total</dt><dd>{num(s.sensors.total)}</dd>
              <dt>Connected</dt><dd class="status status-up">{num(s.sensors.connected)}</dd>
              <dt>Disconnected</dt><dd class={`status ${s.sensors.disconnected ? 'status-down' : 'status-off'}`}>{num(s.sensors.disconnected)}</dd>
              <dt>Silent</dt><dd>{num(s.sensors.silent)}</dd>
              <dt>Learning</dt><dd>{num(s.sensors.learning)}</dd>
              <dt>Operational</dt><dd>{num(s.sensors.operational)}</dd>
              <dt>Not placed in a zone</dt><dd>{num(s.sensors.unassigned)}</dd>
              <dt>Revoked</dt><dd>{num(s.sensors.revoked)}</dd>
            </dl>
          </Panel>
          <Panel title="Devices by type">
            <BarList items={s.devices.by_type.map((x) => ({ label: x.type || 'not known yet', value: x.count }))} empty="No devices yet." />
          </Panel>
          <Panel title="Devices by site">
            <BarList items={s.devices.by_site.map((x) => ({ label: x.name || 'not placed (sensor without zone)', value: x.count }))} empty="No devices yet." />
          </Panel>
        </div>
      )}
    </Page>
  );
}
