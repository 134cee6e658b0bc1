// The map's legend: the same CSS variables colour the swatches here and the nodes on the canvas (style.js).
import { CLASS_LABELS, LEVEL_LABELS } from './state.js';
import { CLASSES } from './style.js';

export function Legend({ levels }) {
  return (
    <div class="map-legend" aria-label="Legend" role="group">
      <ul class="map-legend-list">
        {levels.map((l) => (
          <li key={l}><span class={`map-swatch map-swatch-group map-level-${l.replace('_', '-')}`} aria-hidden="true" />{LEVEL_LABELS[l]} group</li>
        ))}
        {CLASSES.map((c) => (
          <li key={c}><span class={`map-swatch map-class-${c}`} aria-hidden="true" />{CLASS_LABELS[c]} device</li>
        ))}
        <li><span class="map-swatch map-swatch-ring" aria-hidden="true" />Unauthorized (a group: holds some)</li>
        <li><span class="map-swatch map-swatch-dot" aria-hidden="true" />New (a group: holds some)</li>
        <li><span class="map-swatch map-swatch-open" aria-hidden="true" />Open group</li>
        <li><span class="map-swatch-line" aria-hidden="true" />Link: wider = more connections</li>
      </ul>
      <p class="map-legend-note">Group size grows with its device count (log scale).</p>
    </div>
  );
}
