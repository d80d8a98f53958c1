// A failed job's error_code in words a creator understands, and the box on its card (with its
// styles): loaded with the first failed card near the viewport (its badge says "Failed").

import { el } from './dom.js';
import { adoptStyles } from './sheet.js';

adoptStyles(`
.failure { display: grid; gap: .2rem; padding: .6rem .7rem; border-radius: 10px; font-size: .85rem; background: var(--danger-bg); color: var(--danger); }
.failure-title { font-weight: 700; }
.failure-detail { color: var(--text); }
.failure-code { font-size: .75rem; overflow-wrap: anywhere; }
`);

const BUSY = ['Video service busy', 'Too many requests at once. Wait a moment and run it again.'];
const FAILURES = {
  moderation_blocked: ['Blocked by the content policy', 'The video service declined this prompt. Reword it with Edit and run (avoid real people, graphic content or copyrighted characters).'],
  cancelled: ['Cancelled', 'You stopped this video before it finished; its estimate went back to your budget.'],
  timeout: ['Took too long', 'The render did not finish in time and was stopped. Run it again.'],
  expired: ['Video expired', 'The finished video expired before it could be saved. Run it again to get a new copy.'],
  rate_limit_exceeded: BUSY,
  rate_limited: BUSY,
};

export function describeFailure(code, message) {
  if (FAILURES[code]) return { title: FAILURES[code][0], detail: FAILURES[code][1] };
  return {
    title: 'The video service had a problem',
    // The service's words isolated, as the user's are (U+2068 ... U+2069).
    detail: message ? `It said: “\u2068${message}\u2069”. Run it again in a moment.` : 'Run it again in a moment.',
  };
}

// r: the card's named elements (list.js).
export function showFailure(r, job) {
  const f = describeFailure(job.error_code, job.error_message);
  const code = el('code', 'failure-code', [job.error_code, job.error_message].filter(Boolean).join(': '));
  code.dir = 'auto';
  const box = el('div', 'failure');
  box.append(el('p', 'failure-title', f.title), el('p', 'failure-detail', f.detail), code);
  r.download.parentNode.before(box);
}
