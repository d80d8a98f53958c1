// What went wrong, in words a creator understands: a failed job's error_code, and an API
// error as one or two sentences (field errors are shown next to their field instead).

const BUSY = ['Video service busy', 'Too many requests at once. Wait a moment and run it again.'];
const FAILURES = {
  moderation_blocked: ['Blocked by the content policy', 'The video service declined this prompt. Reword it (avoid real people, graphic content or copyrighted characters) and try again.'],
  timeout: ['Took too long', 'The render did not finish in time and was stopped. Run it again.'],
  expired: ['Video expired', 'The finished video expired before it could be saved. Run it again to get a new copy.'],
  rate_limit_exceeded: BUSY,
  rate_limited: BUSY,
};

export function describeFailure(code, message) {
  if (FAILURES[code]) return { title: FAILURES[code][0], detail: FAILURES[code][1] };
  return {
    title: 'The video service had a problem',
    detail: message ? `It said: “${message}”. Run it again in a moment.` : 'Run it again in a moment.',
  };
}

// "Try again in …" as people say it: 7 s, 2 min, 5 h.
function wait(s) {
  if (s < 90) return `${s} s`;
  return s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

// The server's own sentence, minus any "Try again in N s"/"shortly" (shown separately, counting down).
function sentence(msg, fallback) {
  const s = String(msg || '').replace(/[;,]?\s*Try again (in [^.]*|shortly)\.?/i, '').trim().replace(/;$/, '.') || fallback;
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

// retryIn: the seconds left of Retry-After, when a countdown shows it.
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
