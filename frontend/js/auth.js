// Sign-in, loaded with import() only when GET /api/config says auth.mode is not "none".
// token mode: the access token is asked for once in a dialog and kept in sessionStorage;
// cognito mode: the hosted UI with the authorization code + PKCE flow (auth-cognito.js).
// api.js's request() asks the active mode for the bearer token and, after a 401, for a
// new one (then retries once). Media URLs are signed by the server and need no header.

import { getUsage, useAuth } from './api.js';
import './dialog.js'; // the dialogs' styles
import { $, el } from './dom.js';

// sessionStorage: this tab only, gone when it closes. Never throws (storage may be off).
export const session = {
  get(key) {
    try { return JSON.parse(sessionStorage.getItem(key)); } catch { return null; }
  },
  set(key, value) {
    try { sessionStorage.setItem(key, JSON.stringify(value)); } catch { /* private mode */ }
  },
  drop(key) {
    try { sessionStorage.removeItem(key); } catch { /* private mode */ }
  },
};

// A modal sign-in dialog. `submit(value)` resolves to an error message to show (the dialog
// stays open, asking again) or to '' when signed in. Resolves true when signed in, false
// when dismissed (Escape or Cancel).
export function ask({ text, error = '', field = null, action = 'Sign in', busy = 'Checking…', submit }) {
  $('auth-dialog')?.close();
  const dialog = el('dialog', 'auth');
  dialog.id = 'auth-dialog';
  dialog.setAttribute('aria-labelledby', 'auth-title');
  dialog.setAttribute('aria-describedby', 'auth-text auth-error');
  const form = el('form');
  const title = el('h2', '', 'Sign in to Sora Studio');
  title.id = 'auth-title';
  const intro = el('p', '', text);
  intro.id = 'auth-text';
  const problem = el('p', 'form-error', error);
  problem.id = 'auth-error';
  problem.setAttribute('role', 'alert');
  problem.hidden = !error;
  form.append(title, intro);
  let input = null;
  if (field) {
    const label = el('label', '', field);
    label.htmlFor = 'auth-input';
    input = el('input');
    input.id = 'auth-input';
    input.type = 'password';
    input.required = true;
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.setAttribute('aria-describedby', 'auth-error');
    form.append(label, input);
  }
  const go = el('button', 'btn btn-primary', action);
  go.type = 'submit';
  const cancel = el('button', 'btn btn-quiet', 'Cancel');
  cancel.type = 'button';
  const actions = el('div', 'dialog-actions');
  actions.append(cancel, go);
  form.append(problem, actions);
  dialog.append(form);

  return new Promise((resolve) => {
    let done = false;
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(done); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = input ? input.value.trim() : '';
      if (input && !value) {
        problem.textContent = `Enter your ${field.toLowerCase()}.`;
        problem.hidden = false;
        input.focus();
        return;
      }
      go.disabled = true;
      go.textContent = busy;
      const message = await submit(value);
      go.disabled = false;
      go.textContent = action;
      if (!message) {
        done = true;
        dialog.close();
        return;
      }
      problem.textContent = message;
      problem.hidden = false;
      input?.select();
      (input || go).focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    (input || go).focus();
  });
}

// token mode: one opaque access token, checked against GET /api/usage before it is kept.
function tokenMode() {
  const KEY = 'studio.token';
  let asking = null;

  async function check(token) {
    try {
      await getUsage(token);
    } catch (err) {
      if (err.status !== 401) return `Could not check the token: ${err.message}`;
      // The server says why only when it is not the token itself (e.g. expired).
      return /expired/i.test(err.message)
        ? err.message
        : 'That access token was refused. Check that you pasted all of it, or ask for a new one.';
    }
    session.set(KEY, token);
    return '';
  }

  return {
    token: () => session.get(KEY),
    signedIn: () => Boolean(session.get(KEY)),
    // A 401: unless another request already got a new token, drop this one and ask again,
    // with the server's reason (e.g. expired). One dialog however many requests failed.
    async renew(err, used) {
      const now = session.get(KEY);
      if (now && now !== used) return true;
      session.drop(KEY);
      asking ||= ask({
        text: 'This studio is private. Paste the access token you were given. It is kept in this tab only, until you sign out or close it.',
        error: used ? err.message : '',
        field: 'Access token',
        submit: check,
      }).finally(() => { asking = null; });
      return asking;
    },
    signOut() {
      session.drop(KEY);
      location.reload(); // nothing of this user's stays on screen
    },
  };
}

export async function signIn(config) {
  if (!document.querySelector('link[href="css/auth.css"]')) {
    const css = el('link');
    css.rel = 'stylesheet';
    css.href = 'css/auth.css';
    document.head.append(css);
  }
  const mode = config.mode === 'cognito'
    ? await (await import('./auth-cognito.js')).cognitoMode(config)
    : tokenMode();
  // The header's button: Sign out, or Sign in after the dialog was dismissed.
  let button = $('sign-out');
  if (!button) {
    button = el('button', 'btn btn-small btn-quiet sign-out');
    button.type = 'button';
    button.id = 'sign-out';
    document.querySelector('.topbar').append(button);
  }
  const sync = () => { button.textContent = mode.signedIn() ? 'Sign out' : 'Sign in'; };
  // Signed in after a refusal: whatever loaded meanwhile (an error, nothing) loads again,
  // once however many requests waited for the sign-in.
  let told = 0;
  // How often the user dismissed the sign-in: a request sent before the latest dismissal
  // (`epoch` older) fails quietly when its 401 comes in late, instead of asking again.
  let dismissed = 0;
  async function renew(err, used, epoch = dismissed) {
    if (epoch < dismissed) return false;
    const was = mode.signedIn();
    const ok = await mode.renew(err, used);
    if (!ok) dismissed = Math.max(dismissed, epoch + 1); // once for all who waited on it
    sync();
    if (ok && !was) {
      clearTimeout(told);
      told = setTimeout(() => dispatchEvent(new Event('studio:signed-in')));
    }
    return ok;
  }
  button.onclick = () => (mode.signedIn() ? mode.signOut() : renew(null, null));
  useAuth({ token: () => mode.token(), renew, epoch: () => dismissed });
  sync();
}
