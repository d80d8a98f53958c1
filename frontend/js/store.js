// The client-side model: the jobs shown, in display order (newest first),
// the active filter and the paging cursor. Views subscribe to granular events.
// Every change goes through the filter: a job it excludes is never shown.

import { isPending } from './status.js';

const changed = (a, b) =>
  a.updated_at !== b.updated_at || a.status !== b.status || a.progress !== b.progress;

export function createStore() {
  const jobs = new Map();
  let order = [];
  const listeners = new Set();
  const state = { q: '', status: '', model: '', nextCursor: null };

  const emit = (event) => { for (const fn of listeners) fn(event); };
  const newer = (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at);

  // As the server: status, model, every word of the search in any order.
  function matches(job) {
    const text = job.prompt.toLowerCase();
    return (!state.status || job.status === state.status) && (!state.model || job.model === state.model)
      && state.q.toLowerCase().split(/\s+/).every((word) => text.includes(word));
  }

  function add(job) {
    jobs.set(job.id, job);
    // New jobs are almost always the newest: find the slot from the top (ties go first).
    let i = 0;
    while (i < order.length && newer(jobs.get(order[i]), job) < 0) i++;
    order.splice(i, 0, job.id);
    return i;
  }

  return {
    state,
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    get: (id) => jobs.get(id),
    all: () => order.map((id) => jobs.get(id)),
    get size() { return order.length; },
    pendingIds: () => order.filter((id) => isPending(jobs.get(id))),
    hasFilter: () => Boolean(state.q || state.status || state.model),
    matches,

    setFilter({ q = state.q, status = state.status, model = state.model }) {
      Object.assign(state, { q, status, model });
    },

    reset(list, nextCursor) {
      jobs.clear();
      order = [];
      for (const job of list) if (!jobs.has(job.id)) { jobs.set(job.id, job); order.push(job.id); }
      state.nextCursor = nextCursor;
      emit({ type: 'reset', jobs: order.map((id) => jobs.get(id)) });
    },

    append(list, nextCursor) {
      const added = [];
      for (const job of list) {
        if (jobs.has(job.id)) continue;
        jobs.set(job.id, job);
        order.push(job.id);
        added.push(job);
      }
      state.nextCursor = nextCursor;
      emit({ type: 'append', jobs: added });
    },

    // Insert or update one job; emits only when something visible changed. A job the filter
    // excludes is not added, or leaves.
    upsert(job) {
      const prev = jobs.get(job.id);
      if (!prev) {
        if (!matches(job)) return false;
        emit({ type: 'add', job, index: add(job) });
        return true;
      }
      if (!changed(prev, job)) return false;
      jobs.set(job.id, job);
      emit({ type: 'update', job, prev });
      if (!matches(job)) this.remove(job.id);
      return true;
    },

    remove(id) {
      const job = jobs.get(id);
      if (!job) return null;
      const index = order.indexOf(id);
      jobs.delete(id);
      order.splice(index, 1);
      emit({ type: 'remove', job, index });
      return { job, index };
    },

    // Put back a job whose removal failed, at its former place.
    restore({ job, index }) {
      if (jobs.has(job.id)) return;
      jobs.set(job.id, job);
      const at = Math.min(index, order.length);
      order.splice(at, 0, job.id);
      emit({ type: 'add', job, index: at });
    },
  };
}
