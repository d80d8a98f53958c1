// Cognito hosted UI sign-in: authorization code + PKCE (S256), no client secret.
// Sign in: a random verifier and state go to sessionStorage, the browser goes to
// {domain}/oauth2/authorize and comes back here with ?code=&state=; the state is checked,
// the URL cleaned, and the code exchanged at {domain}/oauth2/token. The access token is
// refreshed (grant_type=refresh_token) shortly before it expires, and once after a 401.
// Sign out: tokens dropped, the refresh token revoked, then {domain}/logout.

import { ask, session } from './auth.js';

const KEY = 'studio.session'; // { access, refresh, renewAt }
const PKCE = 'studio.pkce'; // { verifier, state } while the hosted UI is open

const b64url = (bytes) => btoa(String.fromCharCode(...bytes))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

class SignInError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

export async function cognitoMode(config) {
  const domain = String(config.domain || '').replace(/\/+$/, '').replace(/^(?!https?:\/\/)/, 'https://');
  const clientId = config.client_id || '';
  const home = location.origin + location.pathname; // the registered callback and logout URL
  let refreshing = null;
  let asking = null; // one sign-in dialog however many requests got a 401
  let refreshedAfter401 = null; // a token from the 401 path: a 401 on it means sign in again
  let notice = ''; // why the last sign-in did not complete, shown in the sign-in dialog

  // POST to the token endpoint (another origin, form-encoded, CORS) and keep the tokens.
  async function tokens(params) {
    let res;
    try {
      res = await fetch(`${domain}/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: clientId, ...params }),
      });
    } catch {
      throw new SignInError('Could not reach the sign-in service.');
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok || !data.access_token) {
      throw new SignInError(data.error_description || data.error || `The sign-in service answered ${res.status}.`, res.status);
    }
    const ttl = (Number(data.expires_in) || 3600) * 1000;
    const previous = session.get(KEY) || {};
    const next = {
      access: data.access_token,
      refresh: data.refresh_token || previous.refresh || null, // refreshes keep the old one
      renewAt: Date.now() + ttl - Math.min(60000, ttl / 2),
    };
    session.set(KEY, next);
    return next;
  }

  function refresh() {
    const current = session.get(KEY);
    if (!current?.refresh) return Promise.resolve(null);
    refreshing ||= tokens({ grant_type: 'refresh_token', refresh_token: current.refresh })
      .catch((err) => {
        if (err.status) session.drop(KEY); // refused (revoked or expired): sign in again
        return null;
      })
      .finally(() => { refreshing = null; });
    return refreshing;
  }

  async function login() {
    if (!crypto.subtle) return 'Sign-in needs a secure (https) page.';
    const verifier = random(32);
    const state = random(16);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    session.set(PKCE, { verifier, state });
    location.assign(`${domain}/oauth2/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: home,
      scope: 'openid',
      state,
      code_challenge: b64url(new Uint8Array(digest)),
      code_challenge_method: 'S256',
    })}`);
    return new Promise(() => {}); // leaving the page
  }

  // Back from the hosted UI: take code and state out of the URL, check, exchange.
  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    const code = params.get('code');
    const state = params.get('state');
    const error = params.get('error_description') || params.get('error');
    for (const name of ['code', 'state', 'error', 'error_description']) params.delete(name);
    const query = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
    const pending = session.get(PKCE);
    session.drop(PKCE);
    if (error) notice = `Sign-in did not complete: ${error}`;
    else if (!pending || pending.state !== state) notice = 'Sign-in could not be verified. Please sign in again.';
    else {
      try {
        await tokens({ grant_type: 'authorization_code', code, redirect_uri: home, code_verifier: pending.verifier });
      } catch (err) {
        notice = `Sign-in did not complete: ${err.message}`;
      }
    }
  }

  return {
    signedIn: () => Boolean(session.get(KEY)?.access),
    async token() {
      let current = session.get(KEY);
      if (current && Date.now() >= current.renewAt) current = (await refresh()) || session.get(KEY);
      return current?.access || null;
    },
    async renew(err, used) {
      const current = session.get(KEY);
      if (current?.access && current.access !== used) return true; // renewed meanwhile
      if (current?.refresh && used && used !== refreshedAfter401) {
        const next = await refresh();
        if (next) {
          refreshedAfter401 = next.access;
          return true;
        }
      }
      session.drop(KEY);
      asking ||= ask({
        text: 'This studio is private. Sign in with your account to continue.',
        error: notice || (used ? err.message : ''),
        busy: 'Opening sign-in…',
        submit: login,
      }).finally(() => { asking = null; });
      notice = '';
      return asking;
    },
    signOut() {
      const current = session.get(KEY);
      session.drop(KEY);
      if (current?.refresh) {
        fetch(`${domain}/oauth2/revoke`, {
          method: 'POST',
          keepalive: true,
          body: new URLSearchParams({ token: current.refresh, client_id: clientId }),
        }).catch(() => {});
      }
      location.assign(`${domain}/logout?${new URLSearchParams({ client_id: clientId, logout_uri: home })}`);
    },
  };
}
