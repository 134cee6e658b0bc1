// Vite 5 with Preact's JSX through esbuild (no Babel plugin: builds on Debian 12's Node 18 as well as Node 20).
// `npm run dev` serves the app with the API proxied to a console (OTW_CONSOLE, default https://127.0.0.1:8443).
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2020',
    assetsDir: 'assets',
    sourcemap: true,
    // No inline scripts or styles anywhere (the console sends a strict CSP): no preload polyfill, no inlined
    // assets (data: URLs are allowed for images only, and nothing needs them).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: process.env.OTW_CONSOLE || 'https://127.0.0.1:8443', secure: false, changeOrigin: false },
    },
  },
});
