// "Your videos": pages of GET /api/videos into the store (search and status filtered by the
// server, debounced while typing; Load more; Try again), the summary line and empty state,
// the cards (list.js) following the store, and live updates of pending jobs (poller.js).

import { getVideo, listVideos } from './api.js';
import { $ } from './dom.js';
import { describeApiError, describeFailure } from './errors.js';
import { count, money, truncate } from './format.js';
import { createJobList } from './list.js';
import { announce, notice } from './notify.js';
import { createPoller } from './poller.js';
import { isPending } from './status.js';
import { createStore } from './store.js';

const PAGE_SIZE = 24;

// onAction(action, id, button): a card's button was pressed; onSettled(job): a job finished.
export function createHistory({ catalog, onAction, onSettled }) {
  const store = createStore();
  const listEl = $('job-list');
  const loadMore = $('load-more');
  const loading = { seq: 0, controller: null, busy: false, reset: true };
  const list = createJobList(listEl, { template: $('job-card'), catalog, lookup: store.get, onAction });

  const poller = createPoller({
    pendingIds: store.pendingIds,
    fetchJob: getVideo,
    onJob: (job) => store.upsert(job),
    onGone: (id) => store.remove(id),
    onTrouble: () => notice('Connection lost. Reconnecting…'),
    onRecovered: () => notice(''),
  });

  function summarize() {
    const jobs = store.all();
    const spend = jobs.reduce((sum, j) => sum + (Number(j.estimated_cost_usd) || 0), 0);
    $('spend').textContent = jobs.length
      ? `${count(jobs.length)} ${jobs.length === 1 ? 'video' : 'videos'} shown · estimated spend ${money(spend)}`
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
      const what = `“${truncate(event.job.prompt, 40)}”`;
      if (event.job.status === 'completed') announce(`${what} is ready to watch.`);
      else if (event.job.status === 'failed') announce(`${what} failed: ${describeFailure(event.job.error_code).title}.`);
      if (!isPending(event.job)) onSettled(event.job);
    }
    if (event.type !== 'update') summarize();
  });

  async function loadPage(reset) {
    if (!reset && (loading.busy || !store.state.nextCursor)) return;
    loading.reset = reset;
    loading.controller?.abort();
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
      const page = await listVideos({ limit: PAGE_SIZE, cursor: reset ? null : nextCursor, q, status }, controller.signal);
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

  // Search and status: server-side, debounced while typing.
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

  return {
    store,
    list,
    load: () => loadPage(true),
    // A job just created: shown in its place unless the filter hides it (returns whether shown).
    add(job) {
      const shown = store.matches(job);
      if (shown) store.upsert(job);
      poller.kick();
      return shown;
    },
  };
}
