// Wires the modules together: config -> catalog -> form, store -> list, poller.

import * as api from './api.js';
import { createCatalog } from './catalog.js';
import { $ } from './dom.js';
import { describeApiError, describeFailure } from './errors.js';
import { createForm } from './form.js';
import * as fmt from './format.js';
import { createJobList } from './list.js';
import { createPoller } from './poller.js';
import { isPending } from './status.js';
import { createStore } from './store.js';
import { createSubmission } from './submission.js';

const PAGE_SIZE = 24;

function announce(text) {
  const el = $('announcer');
  el.textContent = '';
  requestAnimationFrame(() => { el.textContent = text; });
}

let toastTimer = 0;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

function notice(text) {
  const el = $('notice');
  el.textContent = text || '';
  el.hidden = !text;
}

function confirmDelete(job) {
  const dialog = $('confirm-delete');
  $('confirm-text').textContent = `“${fmt.truncate(job.prompt, 120)}” will be removed from your history, with its video. This cannot be undone.`;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'delete'), { once: true });
  });
}

function start(config) {
  const catalog = createCatalog(config);
  const store = createStore();
  const listEl = $('job-list');
  const loadMore = $('load-more');
  const loading = { seq: 0, controller: null, busy: false };
  const reruns = new Map(); // job id -> submission (keeps its key across retries)

  const upstream = $('upstream');
  upstream.textContent = catalog.upstream === 'simulator' ? 'Simulator' : 'Live';
  upstream.title = catalog.upstream === 'simulator'
    ? 'Videos come from the built-in simulator: test renders, nothing is billed.'
    : 'Videos come from the configured video service and are billed.';
  upstream.dataset.kind = catalog.upstream;
  upstream.hidden = false;

  const list = createJobList(listEl, { template: $('job-card'), catalog, lookup: store.get, onAction });

  const poller = createPoller({
    pendingIds: store.pendingIds,
    fetchJob: api.getVideo,
    onJob: (job) => store.upsert(job),
    onGone: (id) => store.remove(id),
    onTrouble: () => notice('Connection lost. Reconnecting…'),
    onRecovered: () => notice(''),
  });

  // Budget and videos in progress, under the form.
  const showUsage = () => api.getUsage().then((u) => {
    $('usage').textContent = `Budget left today ${fmt.money(u.remaining_today_usd)} of ${fmt.money(u.daily_budget_usd)} · In progress ${u.pending} of ${u.max_pending}`;
    $('usage').hidden = false;
  }, () => {});

  function summarize() {
    const jobs = store.all();
    const spend = jobs.reduce((sum, j) => sum + (Number(j.estimated_cost_usd) || 0), 0);
    $('spend').textContent = jobs.length
      ? `${fmt.count(jobs.length)} ${jobs.length === 1 ? 'video' : 'videos'} shown · estimated spend ${fmt.money(spend)}`
      : '';
    const empty = !jobs.length && !loading.busy;
    $('empty').hidden = !empty;
    if (empty) {
      const filtered = store.hasFilter();
      $('empty-title').textContent = filtered ? 'No videos match.' : 'No videos yet.';
      $('empty-text').textContent = filtered
        ? 'Nothing in your history matches this search and status. Try other words or clear the filter.'
        : 'Write a prompt under “New video”, pick an aspect and a duration, then press Generate video. Your clip appears here, with its progress, and plays right in the page when it is ready.';
      $('clear-filters').hidden = !filtered;
    }
  }

  store.subscribe(list.handle);
  store.subscribe((event) => {
    if (event.type === 'update' && event.prev.status !== event.job.status) {
      const what = `“${fmt.truncate(event.job.prompt, 40)}”`;
      if (event.job.status === 'completed') announce(`${what} is ready to watch.`);
      else if (event.job.status === 'failed') announce(`${what} failed: ${describeFailure(event.job.error_code).title}.`);
      if (!isPending(event.job)) showUsage();
    }
    if (event.type !== 'update') summarize();
  });

  async function loadPage(reset) {
    if (!reset && (loading.busy || !store.state.nextCursor)) return;
    loading.reset = reset;
    if (loading.controller) loading.controller.abort();
    const controller = new AbortController();
    const seq = ++loading.seq;
    loading.controller = controller;
    loading.busy = true;
    listEl.setAttribute('aria-busy', 'true');
    $('list-error').hidden = true;
    loadMore.disabled = true;
    loadMore.textContent = 'Loading…';
    $('list-loading').hidden = !(reset && !store.size);
    if (reset) $('empty').hidden = true;
    try {
      const { q, status, nextCursor } = store.state;
      const page = await api.listVideos({ limit: PAGE_SIZE, cursor: reset ? null : nextCursor, q, status }, controller.signal);
      if (seq !== loading.seq) return;
      loading.busy = false;
      if (reset) store.reset(page.jobs, page.next_cursor);
      else store.append(page.jobs, page.next_cursor);
      poller.kick();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== loading.seq) return;
      loading.busy = false;
      $('list-error-text').textContent = `Could not load your videos. ${describeApiError(err)}`;
      $('list-error').hidden = false;
    } finally {
      if (seq === loading.seq) {
        loading.busy = false;
        loading.controller = null;
        listEl.setAttribute('aria-busy', 'false');
        $('list-loading').hidden = true;
        loadMore.hidden = !store.state.nextCursor;
        loadMore.disabled = false;
        loadMore.textContent = 'Load more';
        summarize();
      }
    }
  }

  function onCreated(job) {
    if (store.matches(job)) {
      store.upsert(job);
      form.note(`Queued “${fmt.truncate(job.prompt, 60)}”.`);
    } else {
      form.note('Queued. It is hidden by the current search or status filter.');
    }
    announce('Video queued.');
    poller.kick();
    showUsage();
  }

  async function runAgain(job, button) {
    if (!reruns.has(job.id)) reruns.set(job.id, createSubmission());
    const body = { prompt: job.prompt, model: job.model, size: job.size, seconds: job.seconds };
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      onCreated(await reruns.get(job.id)(body, (key) => api.createVideo(body, key)));
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
      await api.deleteVideo(job.id);
    } catch (err) {
      if (err.status === 404) return; // already gone
      store.restore(removed);
      toast(`Could not delete the video. ${describeApiError(err)}`);
    }
  }

  function onAction(action, id, button) {
    const job = store.get(id);
    if (!job) return;
    if (action === 'remix') form.startRemix(job);
    else if (action === 'rerun') runAgain(job, button);
    else if (action === 'delete') remove(job);
  }

  const form = createForm($('create-form'), { catalog, onCreated });

  // History filters: server-side search and status, debounced while typing.
  const search = $('search');
  const status = $('status-filter');
  let debounce = 0;
  const applyFilter = () => {
    clearTimeout(debounce);
    const q = search.value.trim();
    if (q === store.state.q && status.value === store.state.status) return;
    store.setFilter({ q, status: status.value });
    loadPage(true);
  };
  search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(applyFilter, 300); });
  status.addEventListener('change', applyFilter);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilter(); });
  $('clear-filters').addEventListener('click', () => {
    search.value = '';
    status.value = '';
    applyFilter();
    search.focus();
  });
  loadMore.addEventListener('click', () => loadPage(false));
  $('list-retry').addEventListener('click', () => loadPage(loading.reset));

  // Keep "2 min ago" honest without any network traffic.
  const refreshTimes = () => {
    if (!document.hidden) list.refreshTimes();
    setTimeout(refreshTimes, 30000);
  };
  setTimeout(refreshTimes, 30000);

  loadPage(true);
  showUsage();
}

async function boot() {
  $('boot-error').hidden = true;
  $('submit').disabled = true;
  try {
    const config = await api.getConfig();
    if (config.auth && config.auth.mode !== 'none') await (await import('./auth.js')).signIn(config.auth);
    start(config);
  } catch (err) {
    $('boot-error-text').textContent = `The studio could not start: ${describeApiError(err)}`;
    $('boot-error').hidden = false;
  }
}

$('boot-retry').addEventListener('click', boot);
boot();
