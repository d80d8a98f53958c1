// A rate limit's countdown under the form, loaded by the first one: "Try again in N s" each
// second while it lasts (and `current()` says the error is still shown), then what happened
// stays said, with a button that sends the same request again.

import { el } from './dom.js';
import { describeApiError } from './errors.js';

export function countdown(box, err, current, retry) {
  let left = err.retryAfter;
  const tick = () => {
    if (!current()) return;
    if (--left > 0) {
      box.textContent = describeApiError(err, left);
      setTimeout(tick, 1000);
      return;
    }
    const again = el('button', 'btn btn-small', 'Try again');
    again.type = 'button';
    again.addEventListener('click', retry, { once: true });
    box.replaceChildren(describeApiError(err, 0, ' You can try again now. '), again);
  };
  setTimeout(tick, 1000);
}
