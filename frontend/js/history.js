// "Your videos": pages of GET /api/videos into the store (search, status and model filtered
// by the server, debounced while typing, kept in the URL; Load more; Try again), the summary
// line and empty state, the cards (list.js) following the store, live updates of pending jobs
// (poller.js) and, while something is pending, its timing, tab title and alerts (live.js).

import { explain, getVideo, listVideos } from './api.js';
import { $ } from './dom.js';
import { count, truncate } from './format.js';
import { createJobList } from './list.js';
import { announce, notice } from './notify.js';
import { isPending } from './status.js';
import { createStore } from './store.js';

const PAGE_SIZE = 24;

// onAction(action, id, button): a card's button was pressed; onSettled(job): a job finished.
export function createHistory({ catalog, onAction, onSettled }) {
  const store = createStore();
  const listEl = $('job-list');
  const loadMore = $('load-more');
  const loading = { seq: 0, controller: null, busy: false, reset: true, failed: false };
  const list = createJobList(listEl, { template: $('job-card'), catalog, lookup: store.get, onAction });

  // Live updates, loaded with the first pending job: the poller and, with it, live.js.
  let live = null;
  function kick() {
    if (!store.pendingIds().length) return;
    live ||= Promise.all([import('./poller.js'), import('./live.js')]).then(([p, l]) => {
      const poller = p.createPoller({
        pendingIds: store.pendingIds,
        fetchJob: getVideo,
        onJob: (job) => Boolean(store.get(job.id)) && store.upsert(job), // not one a reset dropped
        onGone: (id) => store.remove(id),
        onTrouble: () => notice('Connection lost. Reconnecting…'),
        onRecovered: () => notice(''),
      });
      l.start({ store, catalog, poller });
      return poller;
    }, () => { live = null; });
    live.then((poller) => poller?.kick());
  }

  function summarize() {
    const n = store.size;
    $('spend').textContent = n ? `${count(n)} ${n === 1 ? 'video' : 'videos'} shown` : '';
    const empty = !n && !loading.busy && !loading.failed;
    $('empty').hidden = !empty;
    if (empty) {
      const filtered = store.hasFilter();
      $('empty-title').textContent = filtered ? 'No videos match.' : 'No videos yet.';
      $('empty-text').textContent = filtered
        ? 'Nothing in your history matches this search and filter. Try other words or clear the filter.'
        : 'Write a prompt under “New video”, pick an aspect and a duration, then press Generate video. Your clip appears here, with its progress, and plays right in the page when it is ready.';
      $('clear-filters').hidden = !filtered;
    }
  }

  store.subscribe(list.handle);
  store.subscribe((event) => {
    if (event.type === 'update' && event.prev.status !== event.job.status) {
      const what = `“${truncate(event.job.prompt, 40)}”`;
      if (event.job.status === 'completed') announce(`${what} is ready to watch.`);
      else if (event.job.status === 'failed') {
        import('./failure.js').then((m) => announce(`${what} failed: ${m.describeFailure(event.job.error_code).title}.`));
      }
      if (!isPending(event.job)) onSettled(event.job);
    }
    if (event.type !== 'update') summarize();
    if (event.type === 'add') kick(); // (also a card put back)
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
    loading.failed = false;
    loadMore.disabled = true;
    loadMore.textContent = 'Loading…';
    $('list-loading').hidden = !(reset && !store.size);
    if (reset) $('empty').hidden = true;
    try {
      const { nextCursor, ...filter } = store.state;
      const page = await listVideos({ ...filter, limit: PAGE_SIZE, cursor: reset ? null : nextCursor }, controller.signal);
      if (seq !== loading.seq) return;
      loading.busy = false;
      if (reset) store.reset(page.jobs, page.next_cursor);
      else store.append(page.jobs, page.next_cursor);
      kick();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== loading.seq) return;
      loading.busy = false;
      loading.failed = true;
      explain(err).then((text) => {
        $('list-error-text').textContent = `Could not load your videos. ${text}`;
        $('list-error').hidden = false;
      });
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

  // Search, status and model: server-side, debounced while typing, kept in the URL.
  const search = $('search');
  const status = $('status-filter');
  const model = $('model-filter');
  const url = new URL(location.href);
  const wanted = url.searchParams.get('model');
  model.append(...catalog.models.map((m) => new Option(m.label || m.id, m.id)));
  if (wanted && !catalog.model(wanted)) model.append(new Option(wanted, wanted)); // retired
  search.value = url.searchParams.get('q') || '';
  status.value = url.searchParams.get('status') || '';
  model.value = wanted || '';
  const filter = () => ({ q: search.value.trim(), status: status.value, model: model.value });
  store.setFilter(filter());
  let debounce = 0;
  const applyFilter = () => {
    clearTimeout(debounce);
    const next = filter();
    if (Object.keys(next).every((k) => next[k] === store.state[k])) return;
    store.setFilter(next);
    for (const [k, v] of Object.entries(next)) {
      if (v) url.searchParams.set(k, v);
      else url.searchParams.delete(k);
    }
    window.history.replaceState(window.history.state, '', url);
    loadPage(true);
  };
  search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(applyFilter, 300); });
  status.addEventListener('change', applyFilter);
  model.addEventListener('change', applyFilter);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilter(); });
  $('clear-filters').addEventListener('click', () => {
    search.value = status.value = model.value = '';
    applyFilter();
    search.focus();
  });
  // Signed in after a refusal: what is shown may be an error.
  addEventListener('studio:signed-in', () => loadPage(true));
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
      kick();
      return shown;
    },
  };
}
