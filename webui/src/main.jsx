import { render } from 'preact';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import { App } from './app.jsx';
import { installLinkHandler } from './lib/router.js';
import { loadSession } from './lib/session.js';
import './lib/live.js';

const root = document.getElementById('app');
installLinkHandler(document);
loadSession();
render(<App />, root);
