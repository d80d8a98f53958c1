// The creative controls of the prompt form (issue 14), loaded when a model that takes one is
// first chosen: a last-frame picker with the first frame's crop frame (crop.js), a tray of
// reference images (pick, drop or paste several, reorder, remove; each scaled in the worker
// to at most 2048 px on its longest side and sent as a JPEG data: URL), a sound switch with
// its price, and the seed under "More options". Each shows only for a model whose
// capabilities take it; a model without it hides it and drops its value.

import { el } from '../dom.js';
import { money } from '../format.js';
import { createCrop, newEngine } from '../reference/crop.js';
import { readAsDataUrl, sniff } from '../reference/image.js';
import { adoptStyles } from '../sheet.js';
import { asFile } from './card.js';

const TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const REF_SIDE = 2048;

adoptStyles(`
#params[hidden] + .creative, .creative [hidden] { display: none !important; }
#last-field { border-style: dashed; font-weight: 500; }
#last-field[hidden] + .ref-crop { display: none; }
.tray-pick { border-style: dashed; font-weight: 500; }
.tray-list { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0; padding: 0; list-style: none; }
.tray-list li { display: grid; gap: .25rem; justify-items: center; }
.tray-list img { width: 5.5rem; height: 4rem; object-fit: cover; border-radius: 6px; background: var(--media-bg); }
.tray-list .row { display: flex; gap: .2rem; }
.tray-list button { min-width: 1.8rem; padding: .1rem .35rem; }
.sound { display: flex; align-items: center; gap: .5rem; font-weight: 500; }
.sound input { width: 1.1rem; height: 1.1rem; accent-color: var(--accent); }
.more-options summary { cursor: pointer; font-weight: 500; margin-bottom: .5rem; }
.more-options input { max-width: 14rem; }
`);

let instance = null;
export const current = () => instance;

function picker(text, id, multiple) {
  const label = el('label', 'field choice');
  if (id) label.id = id;
  const input = el('input');
  input.type = 'file';
  input.accept = TYPES.join();
  input.multiple = multiple;
  label.append(document.createTextNode(text), input);
  return { label, input };
}

const button = (text, data, label) => {
  const b = el('button', 'btn btn-small btn-quiet', text);
  b.type = 'button';
  Object.assign(b.dataset, data);
  if (label) b.setAttribute('aria-label', label);
  return b;
};

// form: the <form>; refresh(): the form's cost line again.
export function create(form, catalog, refresh) {
  if (instance) return instance;
  const box = el('div', 'creative');
  box.id = 'creative';
  let model = null;

  // Last frame.
  const last = picker('Last frame image (optional): pick or drop', 'last-field', false);
  let crop = null;
  const lastCrop = () => (crop ||= createCrop(last.label, 'last'));
  last.input.addEventListener('change', () => {
    const file = last.input.files?.[0];
    if (file) lastCrop().load(file);
  });

  // Reference images.
  const tray = el('div', 'field tray');
  tray.id = 'ref-tray';
  const pick = picker('', null, true);
  pick.label.classList.add('tray-pick');
  const list = el('ol', 'tray-list');
  list.setAttribute('aria-label', 'Reference images, in the order they are sent');
  const trayNote = el('p', 'ref-note');
  trayNote.setAttribute('role', 'status');
  tray.append(pick.label, list, trayNote);
  let items = []; // { url, name }
  const engine = newEngine();
  let adding = Promise.resolve();

  const max = () => model?.capabilities?.reference_images || 0;

  function render() {
    pick.label.firstChild.textContent = `Reference images (optional, up to ${max()}): pick, drop or paste`;
    list.replaceChildren(...items.map((item, i) => {
      const li = el('li');
      li.dataset.index = String(i);
      const img = el('img');
      img.src = item.url;
      img.alt = `Reference image ${i + 1}: ${item.name}`;
      const row = el('div', 'row');
      if (i > 0) row.append(button('←', { move: '-1' }, `Move reference image ${i + 1} earlier`));
      if (i < items.length - 1) row.append(button('→', { move: '1' }, `Move reference image ${i + 1} later`));
      row.append(button('Remove', { remove: '1' }, `Remove reference image ${i + 1}`));
      li.append(img, row);
      return li;
    }));
    pick.input.disabled = items.length >= max();
  }

  // One file: decoded in the worker, scaled to REF_SIDE at most, encoded as JPEG.
  async function scaled(file) {
    const { type } = await sniff(file);
    if (!TYPES.includes(file.type) && !type) throw new Error(`“${file.name || 'This file'}” is not a JPEG, PNG or WebP image.`);
    const { size, preview } = await engine.decode(file);
    preview.close();
    const scale = Math.min(1, REF_SIDE / Math.max(size.width, size.height));
    const w = Math.max(1, Math.round(size.width * scale));
    const h = Math.max(1, Math.round(size.height * scale));
    return readAsDataUrl(await engine.encode({ sx: 0, sy: 0, sw: size.width, sh: size.height }, w, h));
  }

  function add(files) {
    const picked = [...files].filter((f) => f.type.startsWith('image/') || !f.type);
    adding = adding.then(async () => {
      let skipped = 0;
      for (const file of picked) {
        if (items.length >= max()) { skipped++; continue; }
        trayNote.textContent = 'Reading the image…';
        try {
          items.push({ url: await scaled(file), name: file.name || 'pasted image' });
        } catch (err) {
          trayNote.textContent = err.message.startsWith('“') ? err.message : 'This image could not be read. Try another JPEG, PNG or WebP file.';
          continue;
        }
        render();
        trayNote.textContent = '';
      }
      if (skipped) trayNote.textContent = `This model takes up to ${max()} reference images: ${skipped} not added.`;
    });
    return adding;
  }

  pick.input.addEventListener('change', () => { add(pick.input.files); pick.input.value = ''; });
  tray.addEventListener('dragover', (e) => e.preventDefault());
  tray.addEventListener('drop', (e) => { e.preventDefault(); add(e.dataTransfer?.files || []); });
  // A paste while the tray has the focus goes to the tray, not to the first frame.
  tray.addEventListener('paste', (e) => {
    if (!e.clipboardData?.files.length) return;
    e.stopPropagation();
    add(e.clipboardData.files);
  });
  list.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    const i = Number(b.closest('li').dataset.index);
    if (b.dataset.remove) {
      items.splice(i, 1);
      render();
      trayNote.textContent = `Reference image ${i + 1} removed.`;
      (list.querySelector('button') || pick.input).focus();
    } else {
      const j = i + Number(b.dataset.move);
      [items[i], items[j]] = [items[j], items[i]];
      render();
      trayNote.textContent = `Reference image moved to place ${j + 1}.`;
      list.children[j]?.querySelector(`[data-move="${b.dataset.move}"]`)?.focus();
    }
  });

  // Sound.
  const sound = el('label', 'field sound');
  const soundInput = el('input');
  soundInput.type = 'checkbox';
  soundInput.id = 'audio';
  soundInput.setAttribute('role', 'switch');
  soundInput.checked = true;
  const soundPrice = el('span', 'choice-sub');
  soundPrice.id = 'audio-price';
  sound.append(soundInput, 'Sound', soundPrice);
  soundInput.addEventListener('change', () => { showSoundPrice(); refresh(); });

  function showSoundPrice() {
    if (!model) return;
    const size = form.querySelector('input[name="size"]:checked')?.value;
    const on = catalog.pricePerSecond(model.id, size, true);
    const off = catalog.pricePerSecond(model.id, size, false);
    soundPrice.textContent = on === off
      ? '· the same price either way'
      : `· ${money(on)}/s with sound, ${money(off)}/s without`;
  }
  form.addEventListener('change', (e) => { if (e.target.name === 'size') showSoundPrice(); });

  // Seed, under "More options".
  const more = el('details', 'more-options');
  const summary = el('summary', null, 'More options');
  const seedField = el('label', 'field', 'Seed (optional): the same seed and prompt make the same take');
  const seedInput = el('input');
  seedInput.type = 'number';
  seedInput.id = 'seed';
  seedInput.min = '0';
  seedInput.max = String(catalog.seedMax ?? 4294967295);
  seedInput.step = '1';
  seedInput.inputMode = 'numeric';
  seedInput.placeholder = 'Random';
  seedField.append(seedInput);
  more.append(summary, seedField);

  box.append(last.label, tray, sound, more);
  document.getElementById('params').after(box);

  // Which controls the model takes; what it does not take is hidden and dropped.
  function sync(m) {
    model = m;
    const caps = m?.capabilities || {};
    last.label.hidden = !caps.last_frame;
    if (!caps.last_frame) { crop?.clear(); last.input.value = ''; }
    tray.hidden = !max();
    if (items.length > max()) items = items.slice(0, max());
    render();
    sound.hidden = !caps.audio;
    if (!caps.audio) soundInput.checked = true; // back to the default: on
    showSoundPrice();
    more.hidden = !caps.seed;
    if (!caps.seed) seedInput.value = '';
    box.hidden = last.label.hidden && tray.hidden && sound.hidden && more.hidden;
  }

  instance = {
    sync,
    audio: () => !sound.hidden && !box.hidden && soundInput.checked,
    // What to send with the prompt: only the controls shown.
    async values() {
      await adding;
      const out = {};
      if (!last.label.hidden && crop) {
        const url = await crop.dataUrl();
        if (url) out.last_frame = url;
      }
      if (!tray.hidden && items.length) out.reference_images = items.map((i) => i.url);
      if (!sound.hidden) out.audio = soundInput.checked;
      if (!more.hidden && seedInput.value.trim() !== '') out.seed = Number(seedInput.value);
      return out;
    },
    // Edit and run: a job's inputs into the controls (its model is chosen already).
    async fill(job) {
      items = [];
      if (!last.label.hidden && job.last_frame_url) lastCrop().load(await asFile(job.last_frame_url, 'last-frame.jpg'));
      if (!tray.hidden && job.reference_urls?.length) await add(await Promise.all(job.reference_urls.map((u, i) => asFile(u, `reference-${i + 1}.jpg`))));
      render();
      if (!sound.hidden && job.audio != null) soundInput.checked = job.audio;
      if (!more.hidden) {
        seedInput.value = job.seed ?? '';
        more.open = job.seed != null;
      }
      showSoundPrice();
      refresh();
    },
  };
  return instance;
}
