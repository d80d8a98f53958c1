// Pure formatting helpers: no DOM, no state.

// Plain string work instead of Intl: this runs for every card of a long list.
export const count = (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function money(value) {
  const cents = Math.round((Number(value) || 0) * 100);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${count(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, '0')}`;
}

export function parseSize(size) {
  const [w, h] = String(size).split('x').map(Number);
  return { w: w || 0, h: h || 0 };
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

const aspects = new Map();

export function aspect(size) {
  if (!aspects.has(size)) aspects.set(size, computeAspect(size));
  return aspects.get(size);
}

function computeAspect(size) {
  const { w, h } = parseSize(size);
  if (!w || !h) return { ratio: size, orientation: '' };
  const d = gcd(w, h);
  let ratio = `${w / d}:${h / d}`;
  // 1280x720 is 16:9 exactly; round near-standard ratios for readability.
  if (Math.abs(w / h - 16 / 9) < 0.02) ratio = '16:9';
  else if (Math.abs(h / w - 16 / 9) < 0.02) ratio = '9:16';
  const orientation = w > h ? 'Landscape' : w < h ? 'Portrait' : 'Square';
  return { ratio, orientation };
}

export const pixels = (size) => String(size).replace('x', '×');
export const seconds = (s) => `${s} s`;

const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d === 1) return 'yesterday';
  if (d < 7) return `${d} days ago`;
  return date.format(t);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const fullTime = (iso) => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : dateTime.format(t);
};

export function truncate(text, max = 60) {
  const s = String(text).replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export const isPending = (job) => job.status === 'queued' || job.status === 'in_progress';
export const isSaving = (job) => job.status === 'in_progress' && job.progress >= 100;

const LABELS = { queued: 'Queued', in_progress: 'Generating', completed: 'Ready', failed: 'Failed' };
export const statusLabel = (job) => (isSaving(job) ? 'Saving…' : LABELS[job.status] || job.status);

// Job failures in words a creator understands.
const FAILURES = {
  moderation_blocked: ['Blocked by the content policy', 'The video service declined this prompt. Reword it (avoid real people, graphic content or copyrighted characters) and try again.'],
  timeout: ['Took too long', 'The render did not finish in time and was stopped. Run it again.'],
  expired: ['Video expired', 'The finished video expired before it could be saved. Run it again to get a new copy.'],
  rate_limit_exceeded: ['Video service busy', 'Too many requests at once. Wait a moment and run it again.'],
  rate_limited: ['Video service busy', 'Too many requests at once. Wait a moment and run it again.'],
};

export function describeFailure(code, message) {
  if (FAILURES[code]) return { title: FAILURES[code][0], detail: FAILURES[code][1] };
  return {
    title: 'The video service had a problem',
    detail: message ? `It said: “${message}”. Run it again in a moment.` : 'Run it again in a moment.',
  };
}

// API errors on submit, as one sentence (field errors are shown next to the field instead).
// "Try again in …" as people say it: 7 s, 2 min, 5 h.
export function wait(s) {
  if (s < 90) return `${s} s`;
  return s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

// The server's own sentence, minus any "Try again in N s"/"shortly" (shown separately, counting down).
function sentence(msg, fallback) {
  const s = String(msg || '').replace(/[;,]?\s*Try again (in [^.]*|shortly)\.?/i, '').trim().replace(/;$/, '.') || fallback;
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

// An API error on submit as one or two sentences (field errors go next to their field instead).
export function describeApiError(err, retryIn = err.retryAfter) {
  const again = retryIn > 0 ? ` Try again in ${wait(retryIn)}.` : ' Try again in a moment.';
  if (err.status === 0) return 'Could not reach the server. Check your connection and try again.';
  if (err.status === 429) return sentence(err.message, 'Too many requests right now') + again;
  if (err.code === 'not_ready') return 'That video is not finished yet, so it cannot be remixed.';
  if (err.code === 'idempotency_in_progress') return `Still sending this video.${again}`;
  if (err.status === 401 || err.status === 403) return sentence(err.message, 'You are not allowed to do that');
  if (err.status >= 500) return sentence(err.message, 'The video service reported an error') + again;
  return err.message;
}
