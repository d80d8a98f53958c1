// The one place that talks to the backend. Every call goes through request(),
// which adds the bearer token when sign-in is on (auth.js).

const API_BASE = '/api';

export class ApiError extends Error {
  constructor(status, code, message, { field = null, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;       // HTTP status, 0 when the server could not be reached
    this.code = code;
    this.field = field;         // input field at fault, from {"error":{"field"}}
    this.retryAfter = retryAfter; // seconds, from the Retry-After header
  }
}

function parseRetryAfter(value) {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

let auth = null; // set by auth.js: token(), epoch() when sent, and renew() after a 401
export const useAuth = (a) => { auth = a; };

export async function request(path, options = {}, retry = true) {
  const { method = 'GET', body, headers = {}, signal } = options;
  const token = await auth?.token();
  const epoch = auth?.epoch();
  const init = {
    method,
    signal,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json', ...(token && { Authorization: `Bearer ${token}` }), ...headers },
  };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(API_BASE + path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Could not reach the server.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || 'Request failed', {
      field: e.field || null,
      retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
    });
    if (res.status === 401 && retry && await auth?.renew(err, token, epoch)) return request(path, options, false);
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

// What went wrong, in words (errors.js, loaded on the first failure; kept off the first page).
export const explain = (err) => import('./errors.js').then((m) => m.describeApiError(err), () => 'Could not reach the server.');

export const getConfig = () => request('/config');

export function listVideos({ limit = 24, cursor = null, ...filter } = {}, signal) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  for (const name of ['status', 'q', 'model']) if (filter[name]) params.set(name, filter[name]);
  return request(`/videos?${params}`, { signal });
}

export const getVideo = (id) => request(`/videos/${enc(id)}`).then((d) => d.job);

export const createVideo = (body, idempotencyKey) =>
  request('/videos', { method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey } }).then((d) => d.job);

export const remixVideo = (id, prompt, idempotencyKey) =>
  request(`/videos/${enc(id)}/remix`, {
    method: 'POST', body: { prompt }, headers: { 'Idempotency-Key': idempotencyKey },
  }).then((d) => d.job);

export const deleteVideo = (id) => request(`/videos/${enc(id)}`, { method: 'DELETE' });

export const cancelVideo = (id) => request(`/videos/${enc(id)}/cancel`, { method: 'POST', body: {} }).then((d) => d.job);

// GET /api/usage. With a token: checks that one (auth.js, before keeping it), with no renewal.
export const getUsage = (token) =>
  request('/usage', token ? { headers: { Authorization: `Bearer ${token}` } } : {}, !token);

export const downloadUrl = (job) => `${job.media_url}${job.media_url.includes('?') ? '&' : '?'}download=1`;
