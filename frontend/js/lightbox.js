// The larger player, loaded on the first "Watch larger": a modal <dialog> with the video,
// its whole prompt and its settings. The buttons, or ← and → (when the video itself does
// not have the focus, where they seek), go to the previous and next finished video of the
// list; Escape closes it and the focus goes back to the card.

import './dialog.js'; // the dialogs' styles
import { $, el } from './dom.js';
import * as fmt from './format.js';
import { adoptStyles } from './sheet.js';

adoptStyles(`
.lightbox { width: min(96vw, 1200px); max-width: none; max-height: calc(100vh - 1rem); padding: 1rem; }
.lightbox video { display: block; width: 100%; height: calc(100vh - 11rem); background: var(--media-bg); border-radius: 10px; }
.lightbox .lb-prompt { margin: .75rem 0 .25rem; color: var(--text); white-space: pre-wrap; overflow-wrap: anywhere; max-height: 8rem; overflow: auto; }
.lightbox .lb-meta { margin: 0 0 .75rem; font-size: .85rem; }
.lightbox .dialog-actions { align-items: center; }
.lightbox .lb-count { margin-right: auto; color: var(--muted); font-size: .85rem; }
`);

let box = null;

function build() {
  const dialog = el('dialog', 'lightbox');
  dialog.id = 'lightbox';
  dialog.setAttribute('aria-label', 'Video player');
  const video = el('video');
  video.controls = true;
  video.playsInline = true;
  const prompt = el('p', 'lb-prompt');
  prompt.dir = 'auto';
  const meta = el('p', 'lb-meta');
  const count = el('span', 'lb-count');
  const prev = el('button', 'btn', '← Previous');
  const next = el('button', 'btn', 'Next →');
  const close = el('button', 'btn', 'Close');
  for (const b of [prev, next, close]) b.type = 'button';
  const row = el('div', 'dialog-actions');
  row.append(count, prev, next, close);
  dialog.append(video, prompt, meta, row);
  document.body.append(dialog);
  close.addEventListener('click', () => dialog.close());
  return { dialog, video, prompt, meta, count, prev, next, close };
}

export function open(job, { store, catalog }) {
  box ||= build();
  const { dialog, video, prompt, meta, count, prev, next, close } = box;
  const done = () => store.all().filter((j) => j.status === 'completed' && j.media_url);
  let current = job;

  function show(target, opening = false) {
    const list = done();
    const i = list.findIndex((j) => j.id === target.id);
    if (i < 0) return;
    current = target;
    video.poster = target.thumbnail_url || '';
    video.src = target.media_url;
    video.setAttribute('aria-label', `Video: ${fmt.truncate(target.prompt, 80)}`);
    prompt.textContent = target.prompt;
    meta.textContent = fmt.details(catalog.label(target.model), target);
    count.textContent = `${i + 1} of ${list.length}`;
    prev.disabled = i === 0;
    next.disabled = i === list.length - 1;
    // A button just disabled would drop the focus out of the dialog (and its arrow keys).
    const focused = document.activeElement;
    if (opening || focused?.disabled || !dialog.contains(focused)) [next, prev, close].find((b) => !b.disabled).focus();
  }

  const step = (by) => {
    const list = done();
    const target = list[list.findIndex((j) => j.id === current.id) + by];
    if (target) show(target);
  };
  prev.onclick = () => step(-1);
  next.onclick = () => step(1);
  dialog.onkeydown = (e) => {
    if (e.target === video || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      step(e.key === 'ArrowLeft' ? -1 : 1);
    }
  };
  dialog.onclose = () => {
    video.pause();
    video.removeAttribute('src');
    video.load();
    $(`job-${current.id}`)?.querySelector('.enlarge')?.focus();
  };
  dialog.showModal();
  show(job, true);
}
