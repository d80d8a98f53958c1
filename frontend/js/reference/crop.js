// Image-to-video in the prompt form, loaded when an image is first picked, dropped or pasted:
// the image in a frame of the chosen size's aspect ratio (drag with a mouse or a finger,
// arrow keys, wheel, pinch or the zoom slider), then cut and scaled to exactly that size and
// sent as a JPEG data: URL in input_reference. A new size or model re-crops around the same
// centre and zoom. Decoding (createImageBitmap, bounded in size) and encoding (OffscreenCanvas)
// run in a worker (worker.js beside this file), so even a huge photo leaves the page responsive.

import { el } from '../dom.js';
import { parseSize, pixels } from '../format.js';
import {
  adoptStyles, createHolder, explainRemix, readAsDataUrl, sniff,
} from './image.js';

const TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_ZOOM = 4;

adoptStyles(`
#ref-field { border-style: dashed; font-weight: 500; }
#ref-field[hidden] + .ref-crop { display: none; }
.ref-crop { display: grid; gap: .5rem; }
.ref-crop:has(> :not([hidden])) { margin-bottom: 1rem; }
.ref-frame { position: relative; justify-self: center; width: min(100%, calc(12rem * var(--r, 1.78))); aspect-ratio: var(--r, 1.78); overflow: hidden; border-radius: 10px; background: var(--media-bg); cursor: grab; touch-action: none; user-select: none; }
.ref-frame:active { cursor: grabbing; }
.ref-frame canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.ref-tools { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
.ref-zoom { display: flex; flex: 1; align-items: center; gap: .5rem; font-size: .85rem; }
.ref-zoom input { flex: 1; min-width: 6rem; accent-color: var(--accent); }
.ref-note { font-size: .8rem; color: var(--muted); }
@media (min-width: 960px) { .compose { max-height: calc(100vh - 2rem); overflow-y: auto; } }
`);

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// createHolder() run in the worker (worker.js), behind the same three calls.
function workerEngine() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const waiting = new Map();
  let next = 0;
  worker.addEventListener('message', ({ data }) => {
    const call = waiting.get(data.id);
    waiting.delete(data.id);
    if (data.error) call?.reject(new Error(data.error));
    else call?.resolve(data);
  });
  let fallback = null; // e.g. no module workers: carry on in the page
  worker.addEventListener('error', () => {
    for (const call of waiting.values()) call.reject(new Error('The image worker failed.'));
    waiting.clear();
    fallback = createHolder();
  });
  const call = (message) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ ...message, id });
  });
  return {
    decode: (file) => (fallback ? fallback.decode(file) : call({ type: 'decode', file })), // { size, preview }
    encode: async (rect, w, h) => (fallback ? fallback.encode(rect, w, h) : (await call({ type: 'encode', rect, w, h })).blob),
    clear: () => (fallback ? fallback.clear() : worker.postMessage({ type: 'clear', id: ++next })),
  };
}

// One engine per crop (each holds its own full-size bitmap): the first frame's, the last frame's.
export const newEngine = () => (typeof Worker === 'function' && typeof OffscreenCanvas === 'function'
  ? workerEngine()
  : createHolder());

// field: the picker (a <label> holding the file input); what: 'first' or 'last' frame.
export function createCrop(field, what = 'first') {
  const engine = newEngine();
  const form = field.closest('form');
  const ui = el('div', 'ref-crop');
  const box = el('div', 'ref-box');
  const frame = el('div', 'ref-frame');
  const canvas = el('canvas');
  const tools = el('div', 'ref-tools');
  const zoomLabel = el('label', 'ref-zoom', 'Zoom');
  const zoomInput = el('input');
  const remove = el('button', 'btn btn-small btn-quiet', 'Remove image');
  const note = el('p', 'ref-note');
  const status = el('p', 'ref-note');

  let full = null; // { width, height } of the bitmap the upload is cut from (engine's)
  let preview = null; // smaller ImageBitmap the frame shows
  let zoom = 1;
  let cx = 0.5; // centre of the crop, as fractions of the image
  let cy = 0.5;
  let seq = 0;
  let painting = 0;
  let encoded = null; // { key, url } of the last upload made
  const pointers = new Map();

  const size = () => form.querySelector('input[name="size"]:checked')?.value || '';
  const target = () => parseSize(size());

  // The crop in `img` pixels: the largest rectangle of the target's ratio inside the image,
  // shrunk by the zoom, around (cx, cy).
  function cropIn(img) {
    const { w, h } = target();
    const scale = Math.min(img.width / w, img.height / h) / zoom;
    const sw = w * scale;
    const sh = h * scale;
    return { sx: cx * img.width - sw / 2, sy: cy * img.height - sh / 2, sw, sh };
  }

  function keepInside() {
    const r = cropIn(full);
    const fx = r.sw / full.width / 2;
    const fy = r.sh / full.height / 2;
    cx = clamp(cx, fx, 1 - fx);
    cy = clamp(cy, fy, 1 - fy);
  }

  function paint() {
    painting = 0;
    if (!preview) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(frame.clientWidth * dpr));
    const h = Math.max(1, Math.round(frame.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    const r = cropIn(preview);
    ctx.drawImage(preview, r.sx, r.sy, r.sw, r.sh, 0, 0, w, h);
  }

  function update() {
    if (!full) return;
    keepInside();
    zoomInput.value = String(zoom);
    zoomInput.setAttribute('aria-valuetext', `${Math.round(zoom * 100)}%`);
    painting ||= requestAnimationFrame(paint);
  }

  // The frame follows the chosen size.
  function layout() {
    const { w, h } = target();
    frame.style.setProperty('--r', String(w / h));
    note.textContent = `Sent as ${pixels(size())}, the video's ${what} frame. Drag, use the arrow keys or zoom to frame it.`;
    update();
  }

  // Moves the image by fractions of the frame (as a drag does).
  function move(dx, dy) {
    if (!full) return;
    const r = cropIn(full);
    cx -= (dx * r.sw) / full.width;
    cy -= (dy * r.sh) / full.height;
    update();
  }

  function setZoom(value) {
    if (!full) return;
    zoom = clamp(value, 1, MAX_ZOOM);
    update();
  }

  function say(text, error = false) {
    status.textContent = text;
    status.className = error ? 'field-error' : 'ref-note';
    status.hidden = !text;
  }

  function clear() {
    seq++;
    engine.clear();
    preview?.close();
    full = null;
    preview = null;
    encoded = null;
    box.hidden = true;
    ui.dataset.state = 'empty';
  }

  async function load(file) {
    if (!field.offsetParent) return; // hidden: a model without reference images, or a remix
    const n = ++seq;
    say('');
    const { type } = await sniff(file);
    if (n !== seq) return;
    if (!TYPES.includes(file.type) && !type) {
      say(`“${file.name || 'This file'}” is not a JPEG, PNG or WebP image.`, true);
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      say('This image is larger than 64 MB. Pick a smaller one.', true);
      return;
    }
    ui.dataset.state = 'loading';
    say('Reading the image…');
    let image;
    try {
      image = await engine.decode(file);
    } catch (err) {
      if (n === seq && err.message !== 'superseded') {
        ui.dataset.state = full ? 'ready' : 'empty';
        say('This image could not be read. Try another JPEG, PNG or WebP file.', true);
      }
      return;
    }
    if (n !== seq) {
      image.preview.close();
      return;
    }
    preview?.close();
    full = image.size;
    preview = image.preview;
    zoom = 1;
    cx = 0.5;
    cy = 0.5;
    encoded = null;
    say('');
    box.hidden = false;
    ui.dataset.state = 'ready';
    layout();
  }

  // The upload: the crop of the full image scaled to exactly the chosen size, as a data: URL
  // (undefined when there is no image, or the field is hidden). The same crop gives the same
  // bytes, so a retry of the same submission keeps its Idempotency-Key.
  async function dataUrl() {
    if (!full || !field.offsetParent) return undefined;
    const { w, h } = target();
    const r = cropIn(full);
    const sw = Math.min(full.width, Math.max(1, Math.round(r.sw)));
    const sh = Math.min(full.height, Math.max(1, Math.round(r.sh)));
    const rect = {
      sx: clamp(Math.round(r.sx), 0, full.width - sw), sy: clamp(Math.round(r.sy), 0, full.height - sh), sw, sh,
    };
    const key = [w, h, rect.sx, rect.sy, sw, sh].join();
    if (encoded?.key !== key) encoded = { key, url: await readAsDataUrl(await engine.encode(rect, w, h)) };
    return encoded.url;
  }

  // Build the controls.
  canvas.setAttribute('aria-hidden', 'true');
  frame.tabIndex = 0;
  frame.setAttribute('role', 'group');
  frame.setAttribute('aria-label', `${what === 'last' ? 'Last' : 'First'} frame crop: drag the image or use the arrow keys to move it; the wheel, + and − zoom`);
  frame.append(canvas);
  zoomInput.type = 'range';
  zoomInput.min = '1';
  zoomInput.max = String(MAX_ZOOM);
  zoomInput.step = '0.01';
  zoomInput.value = '1';
  zoomLabel.append(zoomInput);
  remove.type = 'button';
  tools.append(zoomLabel, remove);
  box.append(frame, tools, note);
  status.setAttribute('role', 'status');
  status.hidden = true;
  ui.append(box, status);
  field.after(ui);
  clear();

  zoomInput.addEventListener('input', () => setZoom(Number(zoomInput.value)));
  remove.addEventListener('click', () => {
    clear();
    say(`Image removed: the video ${what === 'last' ? 'ends where the prompt takes it' : 'starts from the prompt alone'}.`);
    field.querySelector('input')?.focus();
  });
  form.addEventListener('change', (e) => {
    if (e.target.name === 'model' || e.target.name === 'size') layout();
  });
  new ResizeObserver(() => update()).observe(frame);

  frame.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 0.1 : 0.02;
    const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (arrows[e.key]) move(...arrows[e.key]);
    else if (e.key === '+' || e.key === '=') setZoom(zoom * 1.1);
    else if (e.key === '-' || e.key === '−') setZoom(zoom / 1.1);
    else return;
    e.preventDefault();
  });
  frame.addEventListener('wheel', (e) => {
    if (!full) return;
    e.preventDefault();
    setZoom(zoom * Math.exp(-e.deltaY * 0.002));
  }, { passive: false });
  frame.addEventListener('pointerdown', (e) => {
    if (!full) return;
    frame.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
  });
  frame.addEventListener('pointermove', (e) => {
    const last = pointers.get(e.pointerId);
    if (!last) return;
    if (pointers.size === 2) { // pinch: zoom by the change of distance between the fingers
      const [ox, oy] = [...pointers.entries()].find(([id]) => id !== e.pointerId)[1];
      const before = Math.hypot(last[0] - ox, last[1] - oy);
      if (before > 0) setZoom((zoom * Math.hypot(e.clientX - ox, e.clientY - oy)) / before);
    }
    const n = pointers.size;
    move((e.clientX - last[0]) / frame.clientWidth / n, (e.clientY - last[1]) / frame.clientHeight / n);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    frame.addEventListener(type, (e) => pointers.delete(e.pointerId));
  }
  // Dropping an image anywhere on the crop replaces it (the picker takes drops natively).
  ui.addEventListener('dragover', (e) => e.preventDefault());
  ui.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) load(file);
  });

  return { load, dataUrl, clear, ui };
}

// form.js calls these: load() when an image is picked, dropped or pasted, dataUrl() on submit.
let crop = null;
const instance = () => (crop ||= createCrop(document.getElementById('ref-field')));
export const load = (file) => instance().load(file);
export const dataUrl = () => instance().dataUrl();
explainRemix();
