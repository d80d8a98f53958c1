// Cards of videos made from a first-frame image (reference_url), loaded when one is shown:
// the image beside the result, and "Run again" that sends it again unless unticked. The
// image is read back from reference_url (a 302 to storage; it already has the job's size)
// and resent as a data: URL. Remix goes through the upstream remix API, which takes no image.

import { ApiError, createVideo } from '../api.js';
import { el } from '../dom.js';
import { describeApiError } from '../errors.js';
import { parseSize, truncate } from '../format.js';
import { adoptStyles, explainRemix, toDataUrl } from './image.js';
import { createSubmission } from '../submission.js';

adoptStyles(`
.ref-card { display: flex; align-items: center; gap: .65rem; font-size: .8rem; color: var(--muted); }
.ref-card a { flex: none; line-height: 0; }
.ref-card img { width: auto; height: 3.5rem; max-width: 6.5rem; object-fit: cover; border-radius: 6px; background: var(--media-bg); }
.ref-card label { display: flex; align-items: center; gap: .35rem; font-weight: 500; font-size: .8rem; color: var(--text); cursor: pointer; }
`);

explainRemix();

const runs = new Map(); // job id -> submission: one Idempotency-Key while it is retried

// The stored image, decoded for a canvas: a CORS-enabled load, as storage is another origin.
function loadImage(url) {
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.src = url;
  return img.decode().then(() => img);
}

async function runAgain(job, button, error) {
  if (!runs.has(job.id)) runs.set(job.id, createSubmission());
  button.disabled = true;
  button.textContent = 'Starting…';
  error.hidden = true;
  try {
    const { w, h } = parseSize(job.size);
    let image;
    try {
      image = await toDataUrl(await loadImage(job.reference_url), w, h);
    } catch {
      throw new Error('Its first-frame image could not be read back. Untick “Use it when running again” to run it without.');
    }
    const body = { prompt: job.prompt, model: job.model, size: job.size, seconds: job.seconds, input_reference: image };
    const created = await runs.get(job.id)(body, (key) => createVideo(body, key));
    runs.delete(job.id);
    document.getElementById('create-form').onCreated(created); // form.js: as its own submissions
  } catch (err) {
    error.textContent = `Could not run it again. ${err instanceof ApiError ? describeApiError(err) : err.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = 'Run again';
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

  if (!catalog.model(job.model)?.supports_reference) return; // "Run again" goes without it
  const keep = el('input');
  keep.type = 'checkbox';
  keep.checked = true;
  const label = el('label');
  label.append(keep, 'Use it when running again');
  text.append(label);
  const error = el('p', 'field-error');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  box.after(error);
  // Before the list's own handler (on the list), which runs it again without the image.
  r.rerun.addEventListener('click', (event) => {
    if (!keep.checked) return;
    event.stopPropagation();
    if (!r.rerun.disabled) runAgain(job, r.rerun, error);
  });
}
