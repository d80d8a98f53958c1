// Cards of videos made from a first-frame image (reference_url), loaded when one is shown:
// the image beside the result and, where the model still takes one, "Use it when running
// again" (ticked). firstFrame() reads the image back for Run again (actions.js): from
// reference_url (a 302 to storage; it already has the job's size), resent as a data: URL.
// Remix goes through the upstream remix API, which takes no image.

import { el } from '../dom.js';
import { parseSize, truncate } from '../format.js';
import { adoptStyles, explainRemix, toDataUrl } from './image.js';

adoptStyles(`
.ref-card { display: flex; align-items: center; gap: .65rem; font-size: .8rem; color: var(--muted); }
.ref-card a { flex: none; line-height: 0; }
.ref-card img { width: auto; height: 3.5rem; max-width: 6.5rem; object-fit: cover; border-radius: 6px; background: var(--media-bg); }
.ref-card label { display: flex; align-items: center; gap: .35rem; font-weight: 500; font-size: .8rem; color: var(--text); cursor: pointer; }
`);

explainRemix();

// The stored image, decoded for a canvas: a CORS-enabled load, as storage is another origin.
function loadImage(url) {
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.src = url;
  return img.decode().then(() => img);
}

// The job's first frame as a JPEG data: URL of the job's size, for input_reference.
export async function firstFrame(job) {
  const { w, h } = parseSize(job.size);
  try {
    return await toDataUrl(await loadImage(job.reference_url), w, h);
  } catch {
    throw new Error('Its first-frame image could not be read back. Untick “Use it when running again” to run it without.');
  }
}

// r: the card's named elements (list.js).
export function decorate(r, job, catalog) {
  const box = el('div', 'ref-card');
  const link = el('a');
  link.href = job.reference_url;
  link.target = '_blank';
  link.rel = 'noopener';
  const img = el('img');
  const { w, h } = parseSize(job.size);
  img.width = w;
  img.height = h;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = `First frame of “${truncate(job.prompt, 60)}”`;
  img.src = job.reference_url;
  link.append(img);
  const text = el('div', 'ref-text');
  text.append(el('p', null, 'Started from this image'));
  box.append(link, text);
  r.meta.after(box);

  if (!catalog.model(job.model)?.supports_reference) return; // Run again goes without it
  const keep = el('input', 'ref-keep');
  keep.type = 'checkbox';
  keep.checked = true;
  const label = el('label');
  label.append(keep, 'Use it when running again');
  text.append(label);
}
