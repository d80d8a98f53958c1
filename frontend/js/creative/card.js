// The inputs that made a video (issue 14), on its card, loaded when a card has one: the last
// frame, the reference images as a strip, sound on or off, the seed, and what it remixes or
// extends.
// inputs() reads them back for Run again: each stored image (a 302 to storage) decoded and
// re-encoded as a data: URL, with sound and seed, for the fields the model still takes.

import { el } from '../dom.js';
import { truncate } from '../format.js';
import { readAsDataUrl } from '../reference/image.js';
import { adoptStyles } from '../sheet.js';

adoptStyles(`
.inputs { display: flex; flex-wrap: wrap; align-items: center; gap: .35rem .6rem; font-size: .8rem; color: var(--muted); }
.inputs img { height: 2.6rem; width: auto; max-width: 4.6rem; object-fit: cover; border-radius: 5px; background: var(--media-bg); }
.inputs .strip { display: flex; gap: .25rem; }
`);

// A stored image as a JPEG blob: a CORS-enabled load, as storage is another origin.
async function blobOf(url) {
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.src = url;
  await img.decode();
  const canvas = el('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode'))), 'image/jpeg', 0.92);
  });
}

export const asFile = async (url, name) => new File([await blobOf(url)], name, { type: 'image/jpeg' });
const asDataUrl = async (url) => readAsDataUrl(await blobOf(url));

// What Run again sends besides prompt, model, size, seconds and the first frame.
export async function inputs(job, catalog) {
  const caps = catalog.model(job.model)?.capabilities || {};
  const out = {};
  try {
    if (job.last_frame_url && caps.last_frame) out.last_frame = await asDataUrl(job.last_frame_url);
    const refs = (job.reference_urls || []).slice(0, caps.reference_images || 0);
    if (refs.length) out.reference_images = await Promise.all(refs.map(asDataUrl));
  } catch {
    throw new Error('Its images could not be read back. Use Edit and run to pick them again.');
  }
  if (job.audio != null && caps.audio) out.audio = job.audio;
  if (job.seed != null && caps.seed) out.seed = job.seed;
  return out;
}

const thumb = (url, alt) => {
  const a = el('a');
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener';
  const img = el('img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = alt;
  img.src = url;
  a.append(img);
  return a;
};

// r: the card's named elements (list.js); lookup(id): a job in the list, if there.
export function decorate(r, job, lookup) {
  const box = el('div', 'inputs');
  const what = truncate(job.prompt, 40);
  if (job.last_frame_url) box.append(el('span', null, 'Ends on'), thumb(job.last_frame_url, `Last frame of “${what}”`));
  const refs = job.reference_urls || [];
  if (refs.length) {
    const strip = el('span', 'strip');
    strip.append(...refs.map((u, i) => thumb(u, `Reference image ${i + 1} of “${what}”`)));
    box.append(el('span', null, `${refs.length} reference image${refs.length > 1 ? 's' : ''}`), strip);
  }
  if (job.audio != null) box.append(el('span', 'sound-state', job.audio ? 'Sound on' : 'Sound off'));
  if (job.seed != null) box.append(el('span', 'seed', `Seed ${job.seed}`));
  if (box.childNodes.length) r.meta.after(box);
  for (const [from, text, kind] of [[job.remixed_from, 'Remix of ', 'remixed'], [job.extended_from, 'Extends ', 'extended']]) {
    if (!from) continue;
    const source = lookup(from);
    const link = el('a', 'lineage-link', source ? `“${truncate(source.prompt, 48)}”` : 'an earlier video');
    link.dir = 'auto';
    if (source) link.href = `#job-${from}`;
    const p = el('p', `lineage ${kind}`, text);
    p.dataset.from = from;
    p.append(link);
    r.meta.after(p);
  }
}
