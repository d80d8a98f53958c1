// Live updates for pending jobs: a setTimeout chain (never setInterval) that
// polls each pending job, speeds up on change, backs off when idle or failing,
// stops when nothing is pending and pauses while the tab is hidden (unless
// `background`: the user asked to be notified).

const FAST = 2000;
const SLOW = 10000;
const MAX_BACKOFF = 60000;
const CONCURRENCY = 4;
const HIDDEN = 30000;

export function createPoller({ pendingIds, fetchJob, onJob, onGone, onTrouble, onRecovered }) {
  let timer = 0;
  let delay = FAST;
  let failures = 0;
  let running = false; // a tick is in flight

  function schedule(ms) {
    clearTimeout(timer);
    timer = 0;
    if ((document.hidden && !poller.background) || !pendingIds().length) return;
    timer = setTimeout(tick, document.hidden ? Math.max(ms, HIDDEN) : ms);
  }

  async function pollOne(id, result) {
    try {
      const job = await fetchJob(id);
      if (onJob(job)) result.changed = true;
    } catch (err) {
      if (err.status === 404) onGone(id);
      else result.failed = err;
    }
  }

  async function tick() {
    timer = 0;
    if (running) return;
    running = true;
    const result = { changed: false, failed: null };
    try {
      const ids = pendingIds();
      for (let i = 0; i < ids.length; i += CONCURRENCY) {
        await Promise.all(ids.slice(i, i + CONCURRENCY).map((id) => pollOne(id, result)));
      }
    } finally {
      running = false;
    }
    if (result.failed) {
      failures++;
      onTrouble(result.failed, failures);
      const backoff = Math.min(MAX_BACKOFF, FAST * 2 ** failures);
      schedule(backoff / 2 + Math.random() * backoff / 2);
      return;
    }
    if (failures) {
      failures = 0;
      onRecovered();
    }
    delay = result.changed ? FAST : Math.min(SLOW, Math.round(delay * 1.5));
    schedule(delay);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      if (!running) schedule(HIDDEN);
    } else {
      poller.kick(0);
    }
  });

  const poller = {
    background: false,
    // Something new is pending (or the tab came back): poll soon, at full speed.
    kick(ms = FAST) {
      delay = FAST;
      if (!running) schedule(failures ? Math.max(ms, FAST) : ms);
    },
  };
  return poller;
}
