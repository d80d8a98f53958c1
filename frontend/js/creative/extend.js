// Extend, loaded on the first press of a finished card's Extend (models with
// capabilities.extend): the form takes a prompt for what happens next and how many seconds
// to add (the model's extend_seconds), and sends POST /api/videos/{id}/extend. The new
// video keeps the source's model and size, so the other choices are hidden.

import { request } from '../api.js';
import { $, el } from '../dom.js';
import { seconds as fmtSeconds, truncate } from '../format.js';
import { adoptStyles } from '../sheet.js';

adoptStyles('.extend-note { display: grid; justify-items: start; gap: .5rem; margin-bottom: 1rem; padding: .7rem .85rem; border-radius: 10px; background: var(--info-bg); color: var(--info); font-size: .9rem; } .extend-note select { margin-left: .4rem; }');

const extendVideo = (id, body, key) => request(`/videos/${encodeURIComponent(id)}/extend`, {
  method: 'POST', body, headers: { 'Idempotency-Key': key },
}).then((d) => d.job);

let box = null;
let secondsSelect = null;
let source = null;

function note() {
  if (box) return box;
  box = el('div', 'extend-note');
  box.id = 'extend-note';
  source = el('q');
  source.dir = 'auto';
  const text = el('p', null, 'Extending ');
  text.append(source, '. Say what happens next; the new video keeps its model and size.');
  const label = el('label', null, 'Add');
  secondsSelect = el('select');
  secondsSelect.id = 'extend-seconds';
  label.append(secondsSelect);
  const cancel = el('button', 'btn btn-quiet', 'Cancel extend');
  cancel.type = 'button';
  cancel.id = 'extend-cancel';
  box.append(text, label, cancel);
  $('create-form').prepend(box);
  return box;
}

// form: form.js's; job: the completed source.
export function startExtend(form, job, catalog) {
  note();
  const m = catalog.model(job.model);
  const choices = m?.extend_seconds?.length ? m.extend_seconds : [job.seconds];
  secondsSelect.replaceChildren(...choices.map((s) => new Option(fmtSeconds(s), String(s))));
  const params = { model: job.model, size: job.size, seconds: Number(choices[0]), audio: job.audio };
  secondsSelect.onchange = () => { params.seconds = Number(secondsSelect.value); form.refresh(); };
  source.textContent = truncate(job.prompt, 80);
  const prompt = $('prompt');
  $('extend-cancel').onclick = () => { form.setMode(null); prompt.focus(); };
  form.setMode({
    label: 'Extend video',
    params,
    body: (text) => ({ extend: job.id, prompt: text, seconds: params.seconds }),
    send: (body, key) => extendVideo(job.id, { prompt: body.prompt, seconds: body.seconds }, key),
    end: () => { box.hidden = true; },
  });
  box.hidden = false;
  prompt.value = '';
  prompt.dispatchEvent(new Event('input'));
  box.scrollIntoView({ block: 'nearest' });
  prompt.focus();
}
