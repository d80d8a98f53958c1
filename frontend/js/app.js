// The entry point: GET /api/config (and sign-in when the stage asks for it), then the rooms
// wired together: the form (form.js), "Your videos" (history.js) and, loaded on the first
// press of a card's button, what those buttons do (actions.js).

import { explain, getConfig, getUsage } from './api.js';
import { createCatalog } from './catalog.js';
import { $, el } from './dom.js';
import { createForm } from './form.js';
import { money, truncate } from './format.js';
import { createHistory } from './history.js';
import { announce } from './notify.js';

// Spend (the server's: actual costs where known) and videos in progress, under the form.
const showUsage = () => getUsage().then((u) => {
  $('usage').textContent = `Today ${money(u.spent_today_usd)} of ${money(u.daily_budget_usd)} budget · All time ${money(u.spent_total_usd)} · In progress ${u.pending} of ${u.max_pending}`;
  $('usage').hidden = false;
}, () => {});
addEventListener('studio:signed-in', showUsage);

function start(config) {
  const catalog = createCatalog(config);
  const upstream = $('upstream');
  const simulated = catalog.upstream === 'simulator';
  upstream.textContent = simulated ? 'Simulator' : 'Live';
  upstream.title = simulated
    ? 'Videos come from the built-in simulator: test renders, nothing is billed.'
    : 'Videos come from the configured video service and are billed.';
  upstream.dataset.kind = catalog.upstream;
  upstream.hidden = false;

  let actions = null;
  const onAction = (...args) => {
    actions ||= import('./actions.js').then((m) => m.createActions({ history, form, catalog, onCreated }));
    actions.then((act) => act(...args), () => { actions = null; });
  };
  const history = createHistory({ catalog, onAction, onSettled: showUsage });

  // A new video: said under the form and shown where the eye goes next, its card.
  function onCreated(job) {
    if (history.add(job)) {
      form.note('Queued “', el('bdi', null, truncate(job.prompt, 60)), '”.');
      $(`job-${job.id}`).scrollIntoView({ block: 'nearest' });
    } else form.note('Queued. It is hidden by the current search or filter.');
    announce('Video queued.');
    showUsage();
  }
  const form = createForm($('create-form'), { catalog, onCreated });

  history.load();
  showUsage();
}

async function boot() {
  $('boot-error').hidden = true;
  $('submit').disabled = true;
  try {
    const config = await getConfig();
    if (config.auth && config.auth.mode !== 'none') await (await import('./auth.js')).signIn(config.auth);
    start(config);
  } catch (err) {
    $('boot-error-text').textContent = `The studio could not start: ${await explain(err)}`;
    $('boot-error').hidden = false;
  }
}

$('boot-retry').addEventListener('click', boot);
boot();
