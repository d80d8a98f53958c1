// What went wrong with a request, in words a creator understands: an API error as one or two
// sentences (field errors are shown next to their field instead; a failed job: failure.js).

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

// retryIn: the seconds left of Retry-After, when a countdown shows it; again: what to say then.
export function describeApiError(err, retryIn = err.retryAfter, again = retryIn > 0 ? ` Try again in ${wait(retryIn)}.` : ' Try again in a moment.') {
  if (err.status === 0) return 'Could not reach the server. Check your connection and try again.';
  if (err.status === 429) return sentence(err.message, 'Too many requests right now') + again;
  if (err.code === 'not_ready') return 'That video is not finished yet, so it cannot be remixed.';
  if (err.code === 'idempotency_in_progress') return `Still sending this video.${again}`;
  if (err.status === 401 || err.status === 403) return sentence(err.message, 'You are not allowed to do that');
  // Without a countdown, the server's own "Try again in a minute." stands.
  if (err.status >= 500) return retryIn > 0 || !/try again/i.test(err.message) ? sentence(err.message, 'The video service reported an error') + again : err.message;
  return err.message;
}
