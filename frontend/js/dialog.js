// Modal dialogs, loaded with the first one: their styles (for sign-in's too) and ask(), a
// question with Cancel and one answer. Every text goes in as text or nodes.

import { el } from './dom.js';
import { adoptStyles } from './sheet.js';

adoptStyles(`
dialog { max-width: min(92vw, 30rem); padding: 1.25rem; color: var(--text); background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); }
dialog::backdrop { background: rgb(10 10 20 / 55%); }
dialog p { margin: .6rem 0 1.2rem; color: var(--muted); overflow-wrap: anywhere; }
.dialog-actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: .5rem; }
.btn-danger { color: #fff; background: var(--danger); border-color: var(--danger); }
`);

// text: strings and nodes; resolves true when the user chose `ok`.
export function ask({ title, text, ok, danger = false }) {
  const dialog = el('dialog');
  dialog.setAttribute('aria-labelledby', 'ask-title');
  dialog.setAttribute('aria-describedby', 'ask-text');
  const form = el('form');
  form.method = 'dialog';
  const heading = el('h2', null, title);
  heading.id = 'ask-title';
  const body = el('p');
  body.id = 'ask-text';
  body.append(...text);
  const no = el('button', 'btn', 'Cancel');
  no.value = 'cancel';
  const yes = el('button', danger ? 'btn btn-danger' : 'btn btn-primary', ok);
  yes.value = 'ok';
  const row = el('div', 'dialog-actions');
  row.append(no, yes);
  form.append(heading, body, row);
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  no.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
  });
}
