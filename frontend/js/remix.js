// Remix, loaded on the first press of a card's Remix: the form takes the job's prompt and
// sends it to POST /api/videos/{id}/remix (the new video keeps the source's model, size and
// duration, so the choices are hidden), with a note saying so and a way back.

import { remixVideo } from './api.js';
import { $, el } from './dom.js';
import { truncate } from './format.js';
import { adoptStyles } from './sheet.js';

adoptStyles('.remix-note { display: grid; justify-items: start; gap: .5rem; margin-bottom: 1rem; padding: .7rem .85rem; border-radius: 10px; background: var(--info-bg); color: var(--info); font-size: .9rem; }');

function note() {
  let box = $('remix-note');
  if (box) return box;
  box = el('div', 'remix-note');
  box.id = 'remix-note';
  const source = el('q');
  source.id = 'remix-source';
  source.dir = 'auto';
  const text = el('p', null, 'Remixing ');
  text.append(source, '. The new video keeps its model, size and duration.', el('span', 'ref-remix', ' A remix takes no first-frame image.'));
  const cancel = el('button', 'btn btn-quiet', 'Cancel remix');
  cancel.type = 'button';
  cancel.id = 'remix-cancel';
  box.append(text, cancel);
  $('create-form').prepend(box);
  return box;
}

// form: form.js's; job: the completed source.
export function startRemix(form, job) {
  const box = note();
  const prompt = $('prompt');
  $('remix-source').textContent = truncate(job.prompt, 80);
  $('remix-cancel').onclick = () => { form.setMode(null); prompt.focus(); };
  form.setMode({
    label: 'Remix video',
    params: job,
    body: (text) => ({ remix: job.id, prompt: text }),
    send: (body, key) => remixVideo(job.id, body.prompt, key),
    end: () => { box.hidden = true; },
  });
  box.hidden = false;
  prompt.value = job.prompt;
  prompt.dispatchEvent(new Event('input'));
  box.scrollIntoView({ block: 'nearest' });
  prompt.focus();
  prompt.setSelectionRange(prompt.value.length, prompt.value.length);
}
