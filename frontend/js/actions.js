// What a card's buttons do, loaded on the first press (list.js delegates the clicks): Remix
// opens the form on the job (remix.js); Run again asks first, with the price, then sends the
// same job again (with its first-frame image unless the card's "Use it when running again"
// is unticked); Edit and run loads its prompt, settings and image into the form; Cancel stops
// a pending job; Delete asks first, removes the card at once and puts it back if the server
// refuses; Watch larger opens the lightbox; Show all and Copy prompt; a video pointed at gets
// hover scrubbing (scrub.js), and one whose link expired gets fresh links. Play and Download
// are the card's own <video> controls and download link. Why an action failed is said on
// its card, under its buttons, not in a corner.

import { cancelVideo, createVideo, deleteVideo, getVideo } from './api.js';
import { ask } from './dialog.js';
import { $, el } from './dom.js';
import { describeApiError } from './errors.js';
import * as fmt from './format.js';
import { announce } from './notify.js';
import { adoptStyles } from './sheet.js';
import { createSubmission } from './submission.js';

adoptStyles('.card-error { font-size: .82rem; color: var(--danger); }');

// The user's words inside a sentence, isolated (a right-to-left prompt stays in its place).
const quoted = (text, max) => ['“', el('bdi', null, fmt.truncate(text, max)), '”'];

// Why an action on this card failed, under its buttons (role="alert"), until the next one.
function say(id, text) {
  const card = $(`job-${id}`);
  if (!card) return;
  let line = card.querySelector('.card-error');
  if (!line) {
    line = el('p', 'card-error');
    line.setAttribute('role', 'alert');
    card.querySelector('.actions').after(line);
  }
  line.textContent = text;
  line.hidden = !text;
}

// The stored first frame as a File, for the form's image field.
async function frameFile(job) {
  const img = new Image();
  img.crossOrigin = 'anonymous'; // storage is another origin
  img.src = job.reference_url;
  await img.decode();
  const canvas = el('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);
  const blob = await new Promise((resolve) => { canvas.toBlob(resolve, 'image/jpeg', 0.92); });
  return new File([blob], 'first-frame.jpg', { type: 'image/jpeg' });
}

// A job made with issue 14's inputs (last frame, reference images, sound, seed).
const creative = (job) => job.last_frame_url || job.reference_urls?.length || job.audio != null || job.seed != null;

const choose = (input, value) => {
  if (input && String(input.value) !== String(value)) {
    input.value = value;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }
};

// history: its store and list; onCreated(job): as the form's own submissions.
export function createActions({ history, form, catalog, onCreated }) {
  const { store } = history;
  const reruns = new Map(); // job id -> submission: one Idempotency-Key while it is retried

  async function runAgain(job, button) {
    if (button.disabled) return;
    const price = fmt.money(catalog.cost(job.model, job.size, job.seconds, job.audio));
    const sure = await ask({
      title: 'Run this video again?',
      text: [...quoted(job.prompt, 120), ` as ${fmt.settings(catalog.label(job.model), job)}. A new render costs about ${price}.`],
      ok: `Run again · ${price}`,
    });
    if (!sure) return;
    button.disabled = true;
    button.textContent = 'Starting…';
    say(job.id, '');
    try {
      const body = { prompt: job.prompt, model: job.model, size: job.size, seconds: job.seconds };
      const keep = button.closest('.card').querySelector('.ref-keep');
      if (job.reference_url && catalog.model(job.model)?.supports_reference && keep?.checked !== false) {
        body.input_reference = await (await import('./reference/card.js')).firstFrame(job);
      }
      if (creative(job)) Object.assign(body, await (await import('./creative/card.js')).inputs(job, catalog));
      if (!reruns.has(job.id)) reruns.set(job.id, createSubmission());
      onCreated(await reruns.get(job.id)(body, (key) => createVideo(body, key)));
      reruns.delete(job.id);
    } catch (err) {
      say(job.id, `Could not run it again. ${describeApiError(err)}`);
    } finally {
      button.disabled = false;
      button.textContent = 'Run again';
    }
  }

  // The job's prompt, model, size, duration and first frame, in the form, to change and send.
  async function edit(job) {
    form.setMode(null);
    const formEl = $('create-form');
    const prompt = $('prompt');
    const offered = catalog.offered(job.model);
    if (offered) choose($('model'), job.model);
    for (const name of ['size', 'seconds']) {
      const input = formEl.querySelector(`input[name="${name}"][value="${job[name]}"]`);
      if (input && !input.checked) {
        input.checked = true;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }
    prompt.value = job.prompt;
    prompt.dispatchEvent(new Event('input'));
    const note = offered ? [] : [` ${job.model} is no longer offered: pick a model.`];
    if (job.reference_url && catalog.model($('model').value)?.supports_reference) {
      try {
        const files = new DataTransfer();
        files.items.add(await frameFile(job));
        const input = $('ref-field').querySelector('input');
        input.files = files.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      } catch {
        note.push(' Its first-frame image could not be loaded: pick it again to use it.');
      }
    }
    if (offered && creative(job)) {
      try {
        await (await import('./creative/controls.js')).current()?.fill(job);
      } catch {
        note.push(' Its last frame or reference images could not be loaded: pick them again to use them.');
      }
    }
    form.note('Loaded ', ...quoted(job.prompt, 60), ' into the form: change what you like, then Generate video.', ...note);
    formEl.scrollIntoView({ block: 'nearest' });
    prompt.focus();
  }

  async function cancel(job, button) {
    button.disabled = true;
    say(job.id, '');
    try {
      store.upsert(await cancelVideo(job.id));
      announce('Video cancelled.');
    } catch (err) {
      if (err.status === 409) store.upsert(await getVideo(job.id).catch(() => job)); // it ended
      say(job.id, `Could not cancel it. ${describeApiError(err)}`);
    } finally {
      button.disabled = false;
    }
  }

  async function remove(job) {
    const sure = await ask({
      title: 'Delete this video?',
      text: [...quoted(job.prompt, 120), ' will be removed from your history, with its video. This cannot be undone.'],
      ok: 'Delete',
      danger: true,
    });
    if (!sure) return;
    const next = $(`job-${job.id}`)?.nextElementSibling?.dataset.id;
    const removed = store.remove(job.id);
    if (!removed) return;
    announce('Video deleted.');
    if (next) history.list.focusCard(next);
    else $('videos').focus();
    try {
      await deleteVideo(job.id);
    } catch (err) {
      if (err.status === 404) return; // already gone
      store.restore(removed);
      say(job.id, `Could not delete the video. ${describeApiError(err)}`);
    }
  }

  function togglePrompt(id, button) {
    const open = $(`prompt-${id}`).classList.toggle('open');
    button.textContent = open ? 'Show less' : 'Show all';
    button.setAttribute('aria-expanded', String(open));
  }

  async function copy(job, button) {
    try {
      await navigator.clipboard.writeText(job.prompt);
      button.textContent = 'Copied';
      announce('Prompt copied.');
      setTimeout(() => { button.textContent = 'Copy prompt'; }, 2000);
    } catch {
      say(job.id, 'Could not copy: this browser did not allow it. Select the prompt and copy it.');
    }
  }

  // A video whose link expired: fetch the job once for fresh links, and go on where it was.
  async function reload(job, video) {
    const at = video.currentTime;
    const fresh = await getVideo(job.id).catch(() => job);
    video.addEventListener('loadedmetadata', () => { if (at) video.currentTime = at; }, { once: true });
    video.src = fresh.media_url || '';
  }

  return function act(action, id, target) {
    const job = store.get(id);
    if (!job) return;
    if (action === 'remix') import('./remix.js').then((m) => m.startRemix(form, job));
    else if (action === 'extend') import('./creative/extend.js').then((m) => m.startExtend(form, job, catalog));
    else if (action === 'rerun') runAgain(job, target);
    else if (action === 'edit') edit(job);
    else if (action === 'cancel') cancel(job, target);
    else if (action === 'delete') remove(job);
    else if (action === 'view') import('./lightbox.js').then((m) => m.open(job, { store, catalog }));
    else if (action === 'scrub') import('./scrub.js').then((m) => m.attach(target, job));
    else if (action === 'more') togglePrompt(id, target);
    else if (action === 'copy') copy(job, target);
    else if (action === 'reload') reload(job, target);
  };
}
