// Small hand-drawn SVG charts: a few dozen bars need no charting library, stay crisp at any size, print, and keep
// their numbers in the DOM (each bar has a <title>, and the data is also in a visually hidden table) for screen
// readers and tests. Colours come from CSS variables via classes.
//
//   <StackedBars series={[{ t, critical, major, ... }]} keys={['critical', 'major', 'minor', 'warning']}
//                label={(t) => '14:00'} title="Alerts per hour" />
//   <BarList items={[{ label: 'plc', value: 12 }]} />

export function StackedBars({ series, keys, label, title, height = 200 }) {
  const W = 900;
  const H = height;
  const pad = { l: 40, r: 8, t: 10, b: 24 };
  const n = series.length || 1;
  const totals = series.map((p) => keys.reduce((s, k) => s + (p[k] || 0), 0));
  const max = Math.max(1, ...totals);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const bw = (W - pad.l - pad.r) / n;
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / top);
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  const every = Math.ceil(n / 12);
  return (
    <figure class="chart-figure">
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        {ticks.map((v) => (
          <g key={v}>
            <line class="axis" x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} />
            <text x={pad.l - 6} y={y(v) + 4} text-anchor="end">{v}</text>
          </g>
        ))}
        {series.map((p, i) => {
          let acc = 0;
          const x = pad.l + i * bw + bw * 0.12;
          return (
            <g key={i}>
              <title>{`${label(p.t)}: ` + keys.map((k) => `${k} ${p[k] || 0}`).join(', ')}</title>
              {keys.map((k) => {
                const v = p[k] || 0;
                if (!v) return null;
                const y1 = y(acc + v);
                const h = y(acc) - y1;
                acc += v;
                return <rect key={k} class={`fill-${k}`} x={x} y={y1} width={bw * 0.76} height={Math.max(h, 1)} />;
              })}
              {i % every === 0 && <text x={x + bw * 0.38} y={H - 6} text-anchor="middle">{label(p.t)}</text>}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {keys.map((k) => (
          <span key={k} class={`sev-${k}`}><span class="legend-swatch" aria-hidden="true" />{k}</span>
        ))}
      </figcaption>
      <div class="sr-only"><table>
        <caption>{title}</caption>
        <thead><tr><th>time</th>{keys.map((k) => <th key={k}>{k}</th>)}</tr></thead>
        <tbody>
          {series.map((p, i) => <tr key={i}><td>{label(p.t)}</td>{keys.map((k) => <td key={k}>{p[k] || 0}</td>)}</tr>)}
        </tbody>
      </table></div>
    </figure>
  );
}

function niceStep(max) {
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const f = raw / mag;
  return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag);
}

/** Horizontal bars, largest first; item: { label, value, href? }. Widths are set through element.style (CSP). */
export function BarList({ items, empty = 'None.' }) {
  if (!items.length) return <p class="muted">{empty}</p>;
  const max = Math.max(1, ...items.map((i) => i.value));
  return (
    <ul class="bars">
      {items.map((i) => (
        <li key={i.label}>
          <span class="bar-label" title={i.label}>{i.href ? <a href={i.href}>{i.label}</a> : i.label}</span>
          <span class="bar-track"><span class="bar-fill" style={{ width: `${(100 * i.value) / max}%` }} /></span>
          <span class="num">{i.value.toLocaleString()}</span>
        </li>
      ))}
    </ul>
  );
}
