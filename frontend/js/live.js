// While videos render (loaded by history.js when the first pending job is shown): each
// pending card's placeholder shows its prompt and settings, and its progress line the time
// elapsed and an estimate of what is left (from the progress once it moves, else from how
// long this model's videos took in this history, per second of video; with no history, the
// backend's rule of thumb: 30 s plus 12 s per second). The tab title carries the progress;
// a video that finishes while the tab is hidden is counted there and, if the user allowed
// it ("Notify me"), notified. Ticks once a second while visible, never while hidden.

import { $, el } from './dom.js';
import * as fmt from './format.js';
import { adoptStyles } from './sheet.js';
import { isPending } from './status.js';

adoptStyles(`
.pending-info { position: absolute; inset: 0; z-index: 1; display: grid; align-content: center; gap: .35rem; padding: .9rem 1.1rem; color: #e8e8f0; text-align: center; }
.pending-info p { display: -webkit-box; overflow: hidden; -webkit-line-clamp: 3; -webkit-box-orient: vertical; font-size: .88rem; overflow-wrap: anywhere; }
.pending-info .pending-settings { font-size: .75rem; color: #b8b8c8; }
.progress-row { flex-wrap: wrap; }
.eta { flex: 1 0 100%; }
.notify-me { margin-left: auto; }
`);

const TITLE = document.title;
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
const canNotify = 'Notification' in window;

export function start({ store, catalog, poller }) {
  let typical = null; // model -> seconds of rendering per second of video, from this history
  let timer = 0;
  let unseen = 0; // finished while the tab was hidden

  function perSecond(model) {
    if (!typical) {
      const runs = new Map();
      for (const j of store.all()) {
        if (j.status !== 'completed' || !j.content_ready_at) continue;
        const took = (Date.parse(j.content_ready_at) - Date.parse(j.created_at)) / 1000 / j.seconds;
        if (took > 0) runs.set(j.model, [...(runs.get(j.model) || []), took]);
      }
      typical = new Map([...runs].map(([m, t]) => [m, t.sort((a, b) => a - b)[t.length >> 1]]));
    }
    return typical.get(model);
  }

  function timing(job, now) {
    const elapsed = Math.max(0, (now - Date.parse(job.created_at)) / 1000);
    const p = job.progress || 0;
    const rate = perSecond(job.model);
    const left = job.status === 'in_progress' && p >= 10 && p < 100
      ? (elapsed * (100 - p)) / p
      : (rate ? rate * job.seconds : 30 + 12 * job.seconds) - elapsed;
    const rest = left > 0.5 ? `about ${clock(left)} left` : 'finishing…';
    return `${clock(elapsed)} elapsed · ${rest}`;
  }

  // The placeholder of a pending card: what is being made, in the user's words.
  function decorate(job) {
    const card = $(`job-${job.id}`);
    const media = card?.querySelector('.media');
    if (!media) return;
    const info = media.querySelector('.pending-info');
    if (!isPending(job)) {
      info?.remove();
      return;
    }
    if (info) return;
    const text = el('p', null, job.prompt);
    text.dir = 'auto';
    const box = el('div', 'pending-info');
    box.setAttribute('aria-hidden', 'true'); // the card's own prompt and settings are read
    box.append(text, el('p', 'pending-settings', fmt.settings(catalog.label(job.model), job)));
    media.append(box);
  }

  function tick() {
    clearTimeout(timer);
    timer = 0;
    const now = Date.now();
    let any = false;
    for (const job of store.all()) {
      if (!isPending(job)) continue;
      any = true;
      const row = $(`job-${job.id}`)?.querySelector('.progress-row');
      if (!row) continue;
      let eta = row.querySelector('.eta');
      if (!eta) {
        eta = el('span', 'eta');
        row.append(eta);
      }
      const text = timing(job, now);
      if (eta.textContent !== text) eta.textContent = text;
    }
    if (any && !document.hidden) timer = setTimeout(tick, 1000);
  }

  function title() {
    const pending = store.all().filter(isPending);
    const ready = unseen ? `${unseen} ready · ` : '';
    if (!pending.length) {
      document.title = ready + TITLE;
      return;
    }
    const pct = Math.round(pending.reduce((sum, j) => sum + (j.progress || 0), 0) / pending.length);
    document.title = `${ready}${pct}% · ${pending.length > 1 ? `${pending.length} videos · ` : ''}${TITLE}`;
  }

  // "Notify me": asked by a button, never at load; granted, polling goes on while hidden.
  function offerNotify() {
    const granted = canNotify && Notification.permission === 'granted';
    poller.background = granted;
    let button = $('notify-me');
    if (!canNotify || Notification.permission !== 'default' || !store.pendingIds().length) {
      if (button) button.hidden = true;
      return;
    }
    if (!button) {
      button = el('button', 'btn btn-small btn-quiet notify-me', 'Notify me when videos finish');
      button.type = 'button';
      button.id = 'notify-me';
      button.addEventListener('click', () => Notification.requestPermission().then(offerNotify));
      $('spend').after(button);
    }
    button.hidden = false;
  }

  function finished(job) {
    typical = null;
    if (!document.hidden) return;
    unseen++;
    if (canNotify && Notification.permission === 'granted') {
      const what = job.status === 'completed' ? 'Your video is ready' : 'A video failed';
      new Notification(what, { body: fmt.truncate(job.prompt, 100), tag: job.id });
    }
  }

  const decorateAll = () => { for (const job of store.all()) decorate(job); };

  store.subscribe((event) => {
    if (event.type === 'update') {
      decorate(event.job);
      if (isPending(event.prev) && !isPending(event.job)) finished(event.job);
    } else if (event.type === 'add') decorate(event.job);
    else if (event.type !== 'remove') {
      typical = null;
      decorateAll();
    }
    title();
    offerNotify();
    if (!timer) tick();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    unseen = 0;
    title();
    tick();
  });
  decorateAll();
  title();
  offerNotify();
  tick();
}
