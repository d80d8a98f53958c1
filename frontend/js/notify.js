// Page-wide live regions: announce() to screen readers, notice() for the connection state.

import { $ } from './dom.js';

export function announce(text) {
  const el = $('announcer');
  el.textContent = '';
  requestAnimationFrame(() => { el.textContent = text; });
}

export function notice(text) {
  const el = $('notice');
  el.textContent = text || '';
  el.hidden = !text;
}
