// What a card's buttons do, loaded on the first press (list.js delegates the clicks): Remix
// opens the form on the job; Run again sends the same job again, with its first-frame image
// unless the card's "Use it when running again" is unticked; Delete asks first, removes the
// card at once and puts it back if the server refuses. Play and Download are the card's own
// <video> controls and download link.

import { createVideo, deleteVideo } from './api.js';
import { $ } from './dom.js';
import { describeApiError } from './errors.js';
import { truncate } from './format.js';
import { announce } from './notify.js';
import { createSubmission } from './submission.js';

// Why an action failed, for 8 s (role="alert").
let toastTimer = 0;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

function confirmDelete(job) {
  const dialog = $('confirm-delete');
  $('confirm-text').textContent = `“${truncate(job.prompt, 120)}” will be removed from your history, with its video. This cannot be undone.`;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'delete'), { once: true });
  });
}

// history: its store and list; onCreated(job): as the form's own submissions.
export function createActions({ history, form, catalog, onCreated }) {
  const { store, list } = history;
  const reruns = new Map(); // job id -> submission: one Idempotency-Key while it is retried

  async function runAgain(job, button) {
    if (button.disabled) return;
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      const body = { prompt: job.prompt, model: job.model, size: job.size, seconds: job.seconds };
      const keep = button.closest('.card').querySelector('.ref-keep');
      if (job.reference_url && catalog.model(job.model)?.supports_reference && keep?.checked !== false) {
        body.input_reference = await (await import('./reference/card.js')).firstFrame(job);
      }
      if (!reruns.has(job.id)) reruns.set(job.id, createSubmission());
      onCreated(await reruns.get(job.id)(body, (key) => createVideo(body, key)));
      reruns.delete(job.id);
    } catch (err) {
      toast(`Could not run it again. ${describeApiError(err)}`);
    } finally {
      button.disabled = false;
      button.textContent = 'Run again';
    }
  }

  async function remove(job) {
    if (!(await confirmDelete(job))) return;
    const next = $(`job-${job.id}`)?.nextElementSibling?.dataset.id;
    const removed = store.remove(job.id);
    if (!removed) return;
    announce('Video deleted.');
    if (next) list.focusCard(next);
    else $('videos').focus();
    try {
      await deleteVideo(job.id);
    } catch (err) {
      if (err.status === 404) return; // already gone
      store.restore(removed);
      toast(`Could not delete the video. ${describeApiError(err)}`);
    }
  }

  return function act(action, id, button) {
    const job = store.get(id);
    if (!job) return;
    if (action === 'remix') form.startRemix(job);
    else if (action === 'rerun') runAgain(job, button);
    else if (action === 'delete') remove(job);
  };
}
