// Chooses what to show: the login page while signed out, else the shell with the page the URL names.
import { useEffect } from 'preact/hooks';
import { Layout } from './components/Layout.jsx';
import { Page } from './components/Page.jsx';
import { matchRoute } from './pages/index.js';
import { navigate, useLocation } from './lib/router.js';
import { can, useSession } from './lib/session.js';

function Redirect({ to }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export function App() {
  const s = useSession();
  const loc = useLocation();
  if (s.state === 'loading') return <div class="splash" role="status">Loading…</div>;

  const m = matchRoute(loc.path);
  if (s.state !== 'in') {
    if (m && m.route.public) return <m.route.component params={m.params} query={loc.query} />;
    const next = loc.path === '/' ? '' : `?next=${encodeURIComponent(loc.path + (loc.query.toString() ? '?' + loc.query : ''))}`;
    return <Redirect to={`/login${next}`} />;
  }
  if (m && m.route.public) {
    const next = loc.query.get('next');
    return <Redirect to={next && next.startsWith('/') && !next.startsWith('//') ? next : '/'} />;
  }
  let body;
  if (!m) {
    body = (
      <Page title="Page not found">
        <p>There is no page at <code>{loc.path}</code>. <a href="/">Go to the dashboard</a>.</p>
      </Page>
    );
  } else if (!can(m.route.ability)) {
    body = (
      <Page title={m.route.title}>
        <p class="notice">Your role ({s.user.role}) may not open this page. Ask an administrator if you need it.</p>
      </Page>
    );
  } else {
    body = <m.route.component key={m.route.path} params={m.params} query={loc.query} />;
  }
  return <Layout>{body}</Layout>;
}
