// Job cards: one <template> clone per job, updated in place, one delegated
// click listener for every card action. Data only ever goes in via textContent.

import { downloadUrl } from './api.js';
import * as fmt from './format.js';

const pick = (li) => ({
  article: li.firstElementChild,
  media: li.querySelector('.media'),
  badge: li.querySelector('.badge'),
  created: li.querySelector('.created'),
  prompt: li.querySelector('.prompt'),
  model: li.querySelector('.m-model'),
  size: li.querySelector('.m-size'),
  seconds: li.querySelector('.m-seconds'),
  cost: li.querySelector('.m-cost'),
  lineage: li.querySelector('.lineage'),
  lineageLink: li.querySelector('.lineage-link'),
  progressRow: li.querySelector('.progress-row'),
  progress: li.querySelector('progress'),
  pct: li.querySelector('.pct'),
  failure: li.querySelector('.failure'),
  failureTitle: li.querySelector('.failure-title'),
  failureDetail: li.querySelector('.failure-detail'),
  failureCode: li.querySelector('.failure-code'),
  download: li.querySelector('.download'),
  remix: li.querySelector('[data-action="remix"]'),
  buttons: li.querySelectorAll('.actions > *'),
  video: null,
});

export function createJobList(root, { template, catalog, lookup, onAction }) {
  const cards = new Map(); // id -> { li, r, job }
  const proto = template.content.firstElementChild;
  const observer = 'IntersectionObserver' in window
    ? new IntersectionObserver(onVisible, { rootMargin: '400px 0px' })
    : null;

  function onVisible(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      const card = cards.get(entry.target.dataset.id);
      if (card) loadMedia(card);
    }
  }

  // Attach the sources only when the card is near the viewport, so a long
  // history does not fire hundreds of media requests.
  function loadMedia(card) {
    const { r, job } = card;
    if (!r.video || r.video.dataset.loaded) return;
    r.video.dataset.loaded = '1';
    if (job.thumbnail_url) r.video.poster = job.thumbnail_url;
    r.video.src = job.media_url;
  }

  function ensureVideo(card) {
    const { r, job, li } = card;
    if (r.video) return;
    const video = document.createElement('video');
    video.controls = true;
    video.preload = 'metadata';
    video.playsInline = true;
    video.setAttribute('aria-label', `Video: ${fmt.truncate(job.prompt, 80)}`);
    r.media.replaceChildren(video);
    r.video = video;
    if (observer) observer.observe(li);
    else loadMedia(card);
  }

  function fill(card, job, prev) {
    const { li, r } = card;
    card.job = job;
    const pending = fmt.isPending(job);
    const saving = fmt.isSaving(job);
    li.dataset.status = job.status;
    li.classList.toggle('is-saving', saving);
    r.badge.textContent = fmt.statusLabel(job);

    if (!prev) {
      const pid = `prompt-${job.id}`;
      li.id = `job-${job.id}`;
      li.dataset.id = job.id;
      r.article.setAttribute('aria-labelledby', pid);
      r.prompt.id = pid;
      r.prompt.textContent = job.prompt;
      r.created.dateTime = job.created_at;
      r.created.title = fmt.fullTime(job.created_at);
      r.created.textContent = fmt.relativeTime(job.created_at);
      const { ratio, orientation } = fmt.aspect(job.size);
      r.media.dataset.orientation = orientation.toLowerCase();
      r.model.textContent = catalog.label(job.model);
      r.size.textContent = `${ratio} · ${fmt.pixels(job.size)}`;
      r.seconds.textContent = fmt.seconds(job.seconds);
      r.cost.textContent = `≈ ${fmt.money(job.estimated_cost_usd)}`;
      for (const b of r.buttons) b.setAttribute('aria-describedby', pid);
      if (job.remixed_from) {
        const source = lookup(job.remixed_from);
        r.lineage.hidden = false;
        r.lineageLink.textContent = source ? `“${fmt.truncate(source.prompt, 48)}”` : 'an earlier video';
        if (source) r.lineageLink.href = `#job-${job.remixed_from}`;
      }
    }

    r.progressRow.hidden = !pending;
    if (pending) {
      if (saving) {
        r.progress.removeAttribute('value');
        r.pct.textContent = 'Saving…';
      } else {
        r.progress.value = job.progress || 0;
        r.pct.textContent = job.status === 'queued' ? 'Waiting…' : `${job.progress || 0}%`;
      }
      r.progress.setAttribute('aria-label', `Progress of ${fmt.truncate(job.prompt, 40)}`);
    }

    const failed = job.status === 'failed';
    r.failure.hidden = !failed;
    if (failed) {
      const f = fmt.describeFailure(job.error_code, job.error_message);
      r.failureTitle.textContent = f.title;
      r.failureDetail.textContent = f.detail;
      r.failureCode.textContent = [job.error_code, job.error_message].filter(Boolean).join(': ');
    }

    const done = job.status === 'completed' && Boolean(job.media_url);
    r.download.hidden = !done;
    r.remix.hidden = !(done && catalog.supportsRemix(job.model));
    if (done) {
      r.download.href = downloadUrl(job);
      ensureVideo(card);
    }
  }

  function build(job) {
    const li = proto.cloneNode(true);
    const card = { li, r: pick(li), job };
    fill(card, job, null);
    cards.set(job.id, card);
    return li;
  }

  function drop(id) {
    const card = cards.get(id);
    if (!card) return;
    if (observer) observer.unobserve(card.li);
    if (card.r.video) card.r.video.removeAttribute('src');
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
    if (!target || !root.contains(target)) return;
    const li = target.closest('.card');
    onAction(target.dataset.action, li.dataset.id, target);
  });

  // A presigned media URL may have expired while the page was open: resolve
  // the /api media route again once, keeping the playback position.
  root.addEventListener('error', (event) => {
    const video = event.target;
    if (!(video instanceof HTMLVideoElement) || video.dataset.retried) return;
    video.dataset.retried = '1';
    const at = video.currentTime;
    const src = cards.get(video.closest('.card').dataset.id)?.job.media_url;
    if (!src) return;
    video.addEventListener('loadedmetadata', () => { if (at) video.currentTime = at; }, { once: true });
    video.src = src;
  }, true);

  return {
    cards,
    handle(event) {
      switch (event.type) {
        case 'reset': {
          const t0 = performance.now();
          if (observer) observer.disconnect();
          for (const card of cards.values()) if (card.r.video) card.r.video.removeAttribute('src');
          cards.clear();
          renderMany(event.jobs, true);
          performance.measure('studio:render-list', { start: t0, detail: { jobs: event.jobs.length } });
          break;
        }
        case 'append':
          renderMany(event.jobs, false);
          break;
        case 'add': {
          const li = build(event.job);
          root.insertBefore(li, root.children[event.index] || null);
          break;
        }
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
      const card = cards.get(id);
      if (card) card.li.querySelector('.actions > :not([hidden])')?.focus();
    },
  };
}
