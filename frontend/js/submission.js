// One Idempotency-Key per intended submission: reused while the same request
// is retried after a failure, replaced after success or when the request changes.

// A v4 UUID. From getRandomValues, which (unlike randomUUID) non-secure contexts have too.
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function createSubmission() {
  let key = null;
  let fingerprint = null;
  return async function submit(what, send) {
    const fp = JSON.stringify(what);
    if (!key || fp !== fingerprint) {
      key = newKey();
      fingerprint = fp;
    }
    try {
      const result = await send(key);
      key = null;
      return result;
    } catch (err) {
      // The key is spent on another body: never reuse it.
      if (err.code === 'idempotency_key_reused') key = null;
      throw err;
    }
  };
}
