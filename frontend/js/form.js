// The prompt form: choices from the catalog, live cost, submit, API validation errors next
// to the field they name. A mode (remix.js) may take over what is sent and how.

import { createVideo, explain } from './api.js';
import { $, el as h } from './dom.js';
import * as fmt from './format.js';

const FIELD_OF = { prompt: 'prompt', model: 'model', size: 'size', aspect_ratio: 'size', seconds: 'seconds', duration: 'seconds' };

export function createForm(form, { catalog, onCreated }) {
  const el = {
    prompt: $('prompt'), counter: $('prompt-counter'), model: $('model'),
    sizes: $('size-options'), seconds: $('seconds-options'), params: $('params'),
    cost: $('cost'), submit: $('submit'), error: $('form-error'), note: $('form-note'), ref: $('ref-field'),
  };
  let submit = null; // submission.js, loaded by the first Generate
  let mode = null; // { label, params, body(prompt), send(body, key) }, e.g. a remix
  let sending = false;
  let countdown = 0; // which error the countdown (retry.js) belongs to
  let extra = null; // creative/controls.js
  let ctl = null;

  const value = (name) => form.elements[name]?.value ?? '';
  const current = () => ({
    model: el.model.value,
    size: value('size'),
    seconds: Number(value('seconds')),
  });

  function radio(name, val, main, sub) {
    const input = h('input');
    input.type = 'radio';
    input.name = name;
    input.value = String(val);
    const label = h('label', 'choice');
    label.append(input, h('span', 'choice-main', main));
    if (sub) label.append(h('span', 'choice-sub', sub));
    return label;
  }

  function renderChoices() {
    const m = catalog.model(el.model.value);
    if (!m) return;
    el.ref.hidden = !m.supports_reference;
    const c = m.capabilities;
    if (extra || c?.last_frame || c?.reference_images || c?.audio || c?.seed) {
      (extra ||= import('./creative/controls.js').then((x) => x.create(form, catalog, updateCost)))
        .then((x) => { ctl = x; x.sync(m); updateCost(); });
    }
    const keep = current();
    const size = catalog.pick(m.sizes, keep.size, catalog.defaults.size);
    const secs = catalog.pick(m.seconds, keep.seconds, catalog.defaults.seconds);
    el.sizes.replaceChildren(...m.sizes.map((s) => {
      const { ratio, orientation } = fmt.aspect(s);
      return radio('size', s, `${ratio} ${orientation}`, `${fmt.pixels(s)} · ${fmt.money(catalog.pricePerSecond(m.id, s))}/s`);
    }));
    el.seconds.replaceChildren(...m.seconds.map((s) => radio('seconds', s, fmt.seconds(s))));
    form.querySelector(`input[name="size"][value="${size}"]`).checked = true;
    form.querySelector(`input[name="seconds"][value="${secs}"]`).checked = true;
    updateCost();
  }

  function updateCost() {
    const p = mode?.params || current();
    el.cost.value = fmt.money(catalog.cost(p.model, p.size, p.seconds, mode ? p.audio : ctl?.audio()));
  }

  function updateCounter() {
    const n = el.prompt.value.length;
    const max = catalog.maxPromptChars;
    el.counter.textContent = `${fmt.count(n)} / ${fmt.count(max)}`;
    el.counter.classList.toggle('near', n > max * 0.9);
  }

  function errorTarget(field) {
    const name = FIELD_OF[field];
    return name ? { msg: $(`${name}-error`), control: name === 'prompt' || name === 'model' ? $(name) : $(`${name}-group`) } : null;
  }

  function showFieldError(field, message) {
    const t = errorTarget(field);
    if (!t || (mode && t.control !== el.prompt)) return false;
    t.msg.textContent = message;
    t.msg.hidden = false;
    t.control.setAttribute('aria-invalid', 'true');
    (t.control.matches('fieldset') ? t.control.querySelector('input:checked') : t.control)?.focus();
    return true;
  }

  function clearErrors(field) {
    for (const name of field ? [FIELD_OF[field]] : ['prompt', 'model', 'size', 'seconds']) {
      const t = errorTarget(name);
      t.msg.hidden = true;
      t.msg.textContent = '';
      t.control.removeAttribute('aria-invalid');
    }
    if (!field) showFormError('');
  }

  function showFormError(text) {
    countdown++;
    el.error.textContent = text;
    el.error.hidden = !text;
    // Where the eye is: the form may be taller than the window.
    if (text) el.error.scrollIntoView({ block: 'nearest' });
  }

  async function report(err) {
    if (err.status === 400 && err.field && showFieldError(err.field, err.message)) return;
    showFormError(await explain(err));
    // "Try again in N s", counting down while the rate limit lasts, then a retry button.
    const own = countdown;
    if (err.retryAfter > 0 && err.retryAfter <= 120) {
      import('./retry.js').then((m) => m.countdown(el.error, err, () => own === countdown, () => form.requestSubmit()));
    }
  }

  function setSending(on) {
    sending = on;
    el.submit.disabled = on;
    form.setAttribute('aria-busy', String(on));
    el.submit.textContent = on ? 'Sending…' : mode?.label || 'Generate video';
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (sending) return;
    clearErrors();
    el.note.textContent = '';
    const prompt = el.prompt.value.trim();
    if (!prompt) {
      showFieldError('prompt', 'Describe the video you want: a prompt is required.');
      return;
    }
    const using = mode;
    const body = using ? using.body(prompt) : { prompt, ...current() };
    setSending(true);
    try {
      if (crop && !using) body.input_reference = await (await crop).dataUrl();
      if (extra && !using) Object.assign(body, await (await extra).values());
      submit ||= (await import('./submission.js')).createSubmission();
      const job = await submit(body, (key) => (using ? using.send : createVideo)(body, key));
      if (using) setMode(null);
      onCreated(job);
    } catch (err) {
      if (err.name === 'AbortError') return;
      report(err);
    } finally {
      setSending(false);
    }
  }

  // A mode sends something else than a new video (and hides the choices), until it ends.
  function setMode(next) {
    mode?.end?.();
    mode = next;
    clearErrors();
    el.params.hidden = Boolean(next);
    if (next) el.ref.hidden = true;
    else renderChoices();
    updateCounter();
    updateCost();
    setSending(false);
  }

  // Setup.
  el.prompt.maxLength = catalog.maxPromptChars;
  el.model.replaceChildren(...catalog.models.map((m) => new Option(m.label || m.id, m.id)));
  el.model.value = catalog.pick(catalog.models.map((m) => m.id), catalog.defaults.model, null);
  renderChoices();
  updateCounter();
  setSending(false);

  let crop;
  const take = (e) => {
    const file = (e.clipboardData || e.target).files?.[0];
    if (file) (crop ||= import('./reference/crop.js')).then((m) => m.load(file), () => { crop = null; });
  };
  el.ref.onchange = take;
  document.addEventListener('paste', take);

  el.prompt.addEventListener('input', () => { updateCounter(); clearErrors('prompt'); });
  el.model.addEventListener('change', () => { clearErrors('model'); renderChoices(); });
  form.addEventListener('change', (e) => {
    if (e.target.name === 'size' || e.target.name === 'seconds') { clearErrors(e.target.name); updateCost(); }
  });
  form.addEventListener('submit', onSubmit);
  // Ctrl/Cmd+Enter submits from the prompt.
  el.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });

  return {
    setMode,
    refresh: updateCost,
    // Text, or nodes that isolate what the user wrote (<bdi>).
    note(...parts) { el.note.replaceChildren(...parts); },
  };
}
