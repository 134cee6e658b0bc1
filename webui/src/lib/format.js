// Display formatting. Times from the API are RFC 3339 UTC; we show them in the browser's time zone, with the
// exact UTC value in a title so that nothing is rounded away.

const dtf = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const nf = new Intl.NumberFormat();

export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? iso : dtf.format(d);
}

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!isFinite(s)) return iso;
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export const num = (n) => (n === null || n === undefined ? '—' : nf.format(n));

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function pct(n) {
  return n === null || n === undefined ? '—' : `${Math.round(n)} %`;
}

/** Saves text as a file through a Blob URL (CSP allows blob: downloads; no server round trip). */
export function download(filename, text, type = 'application/json') {
  const blob = new Blob([text], { type });
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

/** A file name from free text: letters, digits, dot, dash, underscore. */
export const safeName = (s) => String(s).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100) || 'file';
