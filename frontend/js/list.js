// Job cards: one <template> clone per job, updated in place, one delegated
// listener per event type for all cards. Data only ever goes in via textContent.

import { downloadUrl } from './api.js';
import { el } from './dom.js';
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

  // Near the viewport only: the prompt's tools, the video or why it failed.
  function onVisible(entries) {
    const near = entries.filter((e) => e.isIntersecting).map((e) => cards.get(e.target.dataset.id)).filter(Boolean);
    // Reads first (one layout), then writes.
    const cut = near.map(({ r }) => !r.tools && r.prompt.scrollHeight > r.prompt.clientHeight);
    near.forEach((card, i) => {
      observer.unobserve(card.li);
      if (!card.r.tools) tools(card.r, cut[i]);
      elaborate(card);
    });
  }

  function elaborate(card) {
    const { r, job } = card;
    if (job.status === 'completed') showVideo(card);
    else if (job.status === 'failed' && !r.failure) {
      r.failure = true;
      import('./failure.js').then((m) => m.showFailure(r, job));
    }
  }

  // "Show all" (where the prompt is cut) and "Copy prompt" (actions.js).
  function tools(r, cut) {
    r.tools = el('div', 'tools');
    for (const [action, text] of cut ? [['more', 'Show all'], ['copy', 'Copy prompt']] : [['copy', 'Copy prompt']]) {
      const button = el('button', 'link', text);
      button.dataset.action = action;
      r.tools.append(button);
    }
    r.prompt.after(r.tools);
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
    const big = el('button', 'enlarge');
    big.dataset.action = 'view';
    big.setAttribute('aria-label', 'Watch larger');
    r.media.append(video, big);
    r.video = video;
  }

  const meta = (job) => fmt.details(catalog.label(job.model), job);

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
    // The card takes the video's shape (16:9, 9:16 and square by CSS).
    const { orientation, odd } = fmt.aspect(job.size);
    r.media.dataset.orientation = orientation.toLowerCase();
    if (odd) r.media.style.aspectRatio = odd;
    r.meta.textContent = meta(job);
    if (!catalog.offered(job.model)) {
      r.meta.after(el('p', 'gone', `${job.model} is no longer offered: Edit and run picks another model.`));
    }
    if (job.reference_url) import('./reference/card.js').then((m) => m.decorate(r, job, catalog));
    // What it was remixed or extended from, its other inputs (creative/card.js).
    if (job.remixed_from || job.extended_from || job.last_frame_url || job.reference_urls?.length || job.audio != null || job.seed != null) {
      import('./creative/card.js').then((m) => m.decorate(r, job, lookup));
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

  function fill(card, job, prev) {
    const { li, r } = card;
    card.job = job;
    if (!prev) first(card, job);
    else if (prev.cost_usd !== job.cost_usd) r.meta.textContent = meta(job);
    li.dataset.status = job.status;
    li.classList.toggle('is-saving', isSaving(job));
    r.badge.textContent = statusLabel(job);

    const pending = isPending(job);
    const blocked = job.error_code === 'moderation_blocked';
    r.cancel.hidden = !pending;
    // A blocked prompt needs rewording, not resending; a model that is gone cannot run.
    r.rerun.hidden = pending || blocked || !catalog.offered(job.model);
    r.edit.classList.toggle('btn-primary', blocked);
    if (pending) showProgress(r, job);
    else if (r.progressRow) {
      r.progressRow.remove();
      r.progressRow = null;
    }

    const done = job.status === 'completed' && Boolean(job.media_url);
    r.download.hidden = !done;
    r.remix.hidden = !(done && catalog.supportsRemix(job.model));
    r.extend.hidden = !(done && catalog.model(job.model)?.capabilities?.extend);
    if (done && !r.video) r.download.href = downloadUrl(job);
    if (!observer) {
      if (!r.tools) tools(r, true);
      elaborate(card);
    } else if (!prev || (prev.status !== job.status && !pending)) { // (again: it just ended)
      observer.unobserve(li);
      observer.observe(li);
    }
  }

  function build(job) {
    const li = proto.li.cloneNode(true);
    const all = li.getElementsByTagName('*');
    const r = { video: null, progressRow: null, tools: null, failure: false };
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
  // focus arrives rather than on every button × every card up front.
  root.addEventListener('focusin', (event) => {
    const button = event.target.closest('button, .download');
    if (button && !button.hasAttribute('aria-describedby')) {
      button.setAttribute('aria-describedby', `prompt-${button.closest('.card').dataset.id}`);
    }
  });

  // The exact time as a tooltip, formatted only when someone points at it; a video
  // pointed at gets its hover scrubbing (actions.js).
  root.addEventListener('pointerover', (event) => {
    const { target } = event;
    if (target.tagName === 'TIME' && !target.title) target.title = fmt.fullTime(target.dateTime);
    if (target.tagName === 'VIDEO' && !target.dataset.scrub) {
      target.dataset.scrub = '1';
      onAction('scrub', target.closest('.card').dataset.id, target);
    }
  });

  // Links expire: a video that fails to load gets fresh ones, once (actions.js).
  root.addEventListener('error', (event) => {
    const video = event.target;
    if (video.tagName === 'VIDEO' && !video.dataset.retried) {
      video.dataset.retried = '1';
      onAction('reload', video.closest('.card').dataset.id, video);
    }
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
      cards.get(id)?.li.querySelector('.actions :is(a, button):not([hidden])')?.focus();
    },
  };
}
