// A keyboard-navigable tree (WAI-ARIA tree pattern): ↑/↓ move, → opens or enters, ← closes or goes to the parent,
// Home/End, Enter or Space selects. One item is in the tab order (roving tabindex).
//
//   <Tree label="Hierarchy" nodes={[{ id: 'site:3', label: 'Plant A', badge: 'site', children: [...] }]}
//         selected={sel} onSelect={(node) => ...} expanded={set} onToggle={(id, open) => ...} />
// Node ids are strings unique in the tree; `children` absent or [] makes a leaf.
import { useRef, useState } from 'preact/hooks';

function flatten(nodes, expanded, level = 1, parent = null, out = []) {
  for (const n of nodes) {
    out.push({ node: n, level, parent });
    if (n.children && n.children.length && expanded.has(n.id)) flatten(n.children, expanded, level + 1, n.id, out);
  }
  return out;
}

export function Tree({ label, nodes, selected, onSelect, expanded, onToggle }) {
  const [focus, setFocus] = useState(null);
  const ref = useRef(null);
  const flat = flatten(nodes, expanded);
  const focusId = flat.some((f) => f.node.id === focus) ? focus : selected && flat.some((f) => f.node.id === selected) ? selected : flat[0] && flat[0].node.id;
  // Every target of a key is already rendered (a visible item), so focus moves at once, in the key's handler.
  const move = (id) => {
    setFocus(id);
    const el = ref.current && ref.current.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (el) el.focus();
  };

  const onKey = (ev) => {
    // The item the key was pressed on (focus may have moved there before our state caught up).
    const at = ev.target.closest && ev.target.closest('[role=treeitem]');
    const cur0 = at ? at.getAttribute('data-id') : focusId;
    const i = flat.findIndex((f) => f.node.id === cur0);
    if (i < 0) return;
    const cur = flat[i];
    const hasKids = cur.node.children && cur.node.children.length > 0;
    const open = expanded.has(cur.node.id);
    switch (ev.key) {
      case 'ArrowDown': if (i + 1 < flat.length) move(flat[i + 1].node.id); break;
      case 'ArrowUp': if (i > 0) move(flat[i - 1].node.id); break;
      case 'Home': move(flat[0].node.id); break;
      case 'End': move(flat[flat.length - 1].node.id); break;
      case 'ArrowRight':
        if (hasKids && !open) onToggle(cur.node.id, true);
        else if (hasKids) move(flat[i + 1].node.id);
        break;
      case 'ArrowLeft':
        if (hasKids && open) onToggle(cur.node.id, false);
        else if (cur.parent) move(cur.parent);
        break;
      case 'Enter':
      case ' ':
        onSelect(cur.node);
        break;
      default:
        return;
    }
    ev.preventDefault();
  };

  const render = (list, level) => list.map((n) => {
    const hasKids = n.children && n.children.length > 0;
    const open = hasKids && expanded.has(n.id);
    return (
      <li key={n.id} role="treeitem" data-id={n.id} aria-level={level} aria-expanded={hasKids ? String(open) : undefined}
        aria-selected={String(n.id === selected)} tabIndex={n.id === focusId ? 0 : -1}
        onFocus={(e) => { if (e.target === e.currentTarget) setFocus(n.id); }}
        onClick={(e) => { e.stopPropagation(); setFocus(n.id); onSelect(n); }}>
        <div class={`tree-row${n.id === selected ? ' is-selected' : ''}`}>
          <span class="tree-twisty" aria-hidden="true"
            onClick={(e) => { e.stopPropagation(); if (hasKids) onToggle(n.id, !open); }}>
            {hasKids ? (open ? '▾' : '▸') : ''}
          </span>
          {n.badge && <span class={`badge badge-${n.badge}`}>{n.badge}</span>}
          <span class="tree-label">{n.label}</span>
          {n.note && <span class="tree-note">{n.note}</span>}
        </div>
        {open && <ul role="group">{render(n.children, level + 1)}</ul>}
      </li>
    );
  });

  return (
    <ul class="tree" role="tree" aria-label={label} ref={ref} onKeyDown={onKey}>
      {render(nodes, 1)}
    </ul>
  );
}
