// Job cards: one <template> clone per job, updated in place, one delegated
// listener per event type for all cards. Data only ever goes in via textContent.

import { downloadUrl, getVideo } from './api.js';
import { el } from './dom.js';
import { describeFailure } from './errors.js';
import * as fmt from './format.js';
import { isPending, isSaving, progressLabel, statusLabel } from './status.js';

// The template adopted into this document once, without indentation text nodes,
// and where each named element (data-r) sits in document order: a clone's
// references are then found by index, the hot path when rendering long lists.
function prototype(template) {
  const li = document.importNode(template.content.firstElementChild, true);
  const walker = document.createTreeWalker(li, NodeFilter.SHOW_TEXT);
  const blank = [];
  while (walker.nextNode()) if (!walker.currentNode.data.trim()) blank.push(walker.currentNode);
  for (const node of blank) node.remove();
  const refs = [...li.getElementsByTagName('*')]
    .map((node, i) => [node.getAttribute('data-r'), i, node])
    .filter(([name]) => name);
  for (const [, , node] of refs) node.removeAttribute('data-r'); // less to clone
  return { li, refs };
}

export function createJobList(root, { template, catalog, lookup, onAction }) {
  const cards = new Map(); // id -> { li, r, job }
  const proto = prototype(template);
  const observer = 'IntersectionObserver' in window
    ? new IntersectionObserver(onVisible, { rootMargin: '400px 0px' })
    : null;

  function onVisible(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      const card = cards.get(entry.target.dataset.id);
      if (card) showVideo(card);
    }
  }

  // The <video> (and its media requests) only exists once the card is near the
  // viewport: a long history stays cheap to render and quiet on the network.
  function showVideo(card) {
    const { r, job } = card;
    if (r.video || job.status !== 'completed') return;
    const video = el('video');
    video.controls = true;
    video.preload = 'metadata';
    video.playsInline = true;
    video.setAttribute('aria-label', `Video: ${fmt.truncate(job.prompt, 80)}`);
    if (job.thumbnail_url) video.poster = job.thumbnail_url;
    video.src = job.media_url;
    r.media.append(video);
    r.video = video;
  }

  function first(card, job) {
    const { li, r } = card;
    const pid = `prompt-${job.id}`;
    li.id = `job-${job.id}`;
    li.dataset.id = job.id;
    li.setAttribute('aria-labelledby', pid);
    r.prompt.id = pid;
    r.prompt.textContent = job.prompt;
    r.created.dateTime = job.created_at;
    r.created.textContent = fmt.relativeTime(job.created_at);
    const { ratio, orientation } = fmt.aspect(job.size);
    r.media.dataset.orientation = orientation.toLowerCase();
    r.meta.textContent = `${catalog.label(job.model)} · ${ratio} · ${fmt.pixels(job.size)} · ${fmt.seconds(job.seconds)} · ≈ ${fmt.money(job.estimated_cost_usd)}`;
    if (job.reference_url) import('./reference/card.js').then((m) => m.decorate(r, job, catalog));
    if (job.remixed_from) {
      const source = lookup(job.remixed_from);
      const link = el('a', 'lineage-link', source ? `“${fmt.truncate(source.prompt, 48)}”` : 'an earlier video');
      if (source) link.href = `#job-${job.remixed_from}`;
      const p = el('p', 'lineage', 'Remix of ');
      p.append(link);
      r.meta.after(p);
    }
  }

  function showProgress(r, job) {
    if (!r.progressRow) {
      r.progress = el('progress');
      r.progress.max = 100;
      r.progress.setAttribute('aria-labelledby', r.prompt.id);
      r.pct = el('span', 'pct');
      r.progressRow = el('div', 'progress-row');
      r.progressRow.append(r.progress, r.pct);
      r.meta.parentNode.insertBefore(r.progressRow, r.download.parentNode);
    }
    if (isSaving(job)) r.progress.removeAttribute('value');
    else r.progress.value = job.progress || 0;
    r.pct.textContent = progressLabel(job);
  }

  function showFailure(r, job) {
    const f = describeFailure(job.error_code, job.error_message);
    const box = el('div', 'failure');
    box.append(
      el('p', 'failure-title', f.title),
      el('p', 'failure-detail', f.detail),
      el('code', 'failure-code', [job.error_code, job.error_message].filter(Boolean).join(': ')),
    );
    r.download.parentNode.before(box);
  }

  function fill(card, job, prev) {
    const { li, r } = card;
    card.job = job;
    if (!prev) first(card, job);
    li.dataset.status = job.status;
    li.classList.toggle('is-saving', isSaving(job));
    r.badge.textContent = statusLabel(job);

    if (isPending(job)) showProgress(r, job);
    else if (r.progressRow) {
      r.progressRow.remove();
      r.progressRow = null;
    }
    if (job.status === 'failed' && prev?.status !== 'failed') showFailure(r, job);

    const done = job.status === 'completed' && Boolean(job.media_url);
    r.download.hidden = !done;
    r.remix.hidden = !(done && catalog.supportsRemix(job.model));
    if (done && !r.video) {
      r.download.href = downloadUrl(job);
      if (observer) observer.observe(li);
      else showVideo(card);
    }
  }

  function build(job) {
    const li = proto.li.cloneNode(true);
    const all = li.getElementsByTagName('*');
    const r = { video: null, progressRow: null };
    for (const [name, i] of proto.refs) r[name] = all[i];
    const card = { li, r, job };
    fill(card, job, null);
    cards.set(job.id, card);
    return li;
  }

  function drop(id) {
    const card = cards.get(id);
    if (!card) return;
    if (observer) observer.unobserve(card.li);
    card.r.video?.removeAttribute('src');
    card.li.remove();
    cards.delete(id);
  }

  function renderMany(jobs, replace) {
    const frag = document.createDocumentFragment();
    for (const job of jobs) frag.append(build(job));
    if (replace) root.replaceChildren(frag);
    else root.append(frag);
  }

  root.addEventListener('click', (event) => {
    const target = event.target.closest('[data-action]');
    if (target && root.contains(target)) onAction(target.dataset.action, target.closest('.card').dataset.id, target);
  });

  // Which video a focused action is about ("Delete" alone says too little), set when
  // focus arrives rather than on 4 buttons × every card up front.
  root.addEventListener('focusin', (event) => {
    const button = event.target.closest('.actions > *');
    if (button && !button.hasAttribute('aria-describedby')) {
      button.setAttribute('aria-describedby', `prompt-${button.closest('.card').dataset.id}`);
    }
  });

  // The exact time as a tooltip, formatted only when someone points at it.
  root.addEventListener('pointerover', (event) => {
    const time = event.target.closest?.('time');
    if (time && !time.title) time.title = fmt.fullTime(time.dateTime);
  });

  // Links expire: on a load error, fetch the job once for fresh ones.
  root.addEventListener('error', async (event) => {
    const video = event.target;
    if (!(video instanceof HTMLVideoElement) || video.dataset.retried) return;
    video.dataset.retried = '1';
    const at = video.currentTime;
    const { job } = cards.get(video.closest('.card').dataset.id);
    const fresh = await getVideo(job.id).catch(() => job);
    video.addEventListener('loadedmetadata', () => { if (at) video.currentTime = at; }, { once: true });
    video.src = fresh.media_url || '';
  }, true);

  return {
    handle(event) {
      switch (event.type) {
        case 'reset': {
          const t0 = performance.now();
          observer?.disconnect();
          for (const id of [...cards.keys()]) cards.get(id).r.video?.removeAttribute('src');
          cards.clear();
          renderMany(event.jobs, true);
          performance.measure('studio:render-list', { start: t0, detail: { jobs: event.jobs.length } });
          break;
        }
        case 'append':
          renderMany(event.jobs, false);
          break;
        case 'add':
          root.insertBefore(build(event.job), root.children[event.index] || null);
          break;
        case 'update': {
          const card = cards.get(event.job.id);
          if (card) fill(card, event.job, event.prev);
          break;
        }
        case 'remove':
          drop(event.job.id);
          break;
        default:
      }
    },
    refreshTimes(now = Date.now()) {
      for (const { r, job } of cards.values()) {
        const text = fmt.relativeTime(job.created_at, now);
        if (r.created.textContent !== text) r.created.textContent = text;
      }
    },
    focusCard(id) {
      cards.get(id)?.li.querySelector('.actions > :not([hidden])')?.focus();
    },
  };
}
