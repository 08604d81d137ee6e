// The Authorization tab's "iSpring organization" card (issue 16 §5, Reset to another
// organization): which organization the store's links belong to, which one the config names,
// and a Reset whose dialog shows what it forgets and needs the configured organization typed
// back. It builds its own card, so index.html only loads this file.
(() => {
  'use strict';
  const TOKEN_KEY = 'connector-admin-token';

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'text')
        node.textContent = value;
      else
        node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  async function call(path, method = 'GET', body) {
    const headers = {
      Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || ''),
      Accept: 'application/json'
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    const type = response.headers.get('Content-Type') || '';
    const data = type.includes('application/json') ? await response.json() : {};
    if (!response.ok) {
      const error = new Error(data.error || 'HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function forgetsList(view) {
    const f = view.reset_forgets, r = view.reset_requeues;
    return [
      `${f.user_links} user link(s) to ${
          view.stored ? view.stored.identity : 'the old organization'}`,
      `${f.department_links} department link(s)`,
      `${f.group_additions} group addition(s) waiting`,
      `kept and applied again to ${view.configured}: ${r.held_records} held record(s), ` +
          `${r.dead_records} dead letter(s)`,
    ];
  }

  function fact(term, value) { return [el('dt', {text: term}), el('dd', {text: value})]; }

  function buildCard() {
    const panel = document.getElementById('panel-authorization');
    if (!panel || document.getElementById('org-card')) return null;
    const card =
        el('section', {class: 'card wide', id: 'org-card', 'aria-labelledby': 'org-title'}, [
          el('h2', {id: 'org-title', text: 'iSpring organization'}),
          el('p', {id: 'org-warning', class: 'error', role: 'alert'}),
          el('dl', {class: 'facts', id: 'org-facts'}),
          el('button', {
            type: 'button',
            id: 'org-reset',
            class: 'secondary',
            text: 'Reset to another organization…'
          }),
          el('p', {id: 'org-status', role: 'status'}),
        ]);
    const dialog = el('dialog', {id: 'org-dialog', 'aria-labelledby': 'org-dialog-title'}, [
      el('h2', {id: 'org-dialog-title', text: 'Reset to another organization'}),
      el('p', {text: 'A reset forgets:'}),
      el('ul', {id: 'org-forgets'}),
      el('p', {
        text: 'The next reconciliation then creates the users in the new organization. ' +
            'To confirm, type the configured organization:'
      }),
      el('p', {}, [el('code', {id: 'org-expected'})]),
      el('label',
         { for: 'org-confirm', text: 'Organization'
         }),
      el('input', {id: 'org-confirm', type: 'text', autocomplete: 'off', spellcheck: 'false'}),
      el('p', {id: 'org-dialog-error', class: 'error', role: 'alert'}),
      el('div', {class: 'actions'},
         [
           el('button', {type: 'button', id: 'org-confirm-reset', disabled: '', text: 'Reset'}),
           el('button', {type: 'button', id: 'org-cancel', class: 'secondary', text: 'Cancel'}),
         ]),
    ]);
    panel.append(card, dialog);
    return card;
  }

  let current = null;

  function render(view) {
    current = view;
    document.getElementById('org-facts')
        .replaceChildren(
            ...fact(
                'Stored (the links belong to)', view.stored ? view.stored.identity : 'none yet'),
            ...fact('Configured', view.configured), ...fact('Match', view.matches ? 'yes' : 'no'),
            ...fact('User links', String(view.reset_forgets.user_links)));
    document.getElementById('org-warning').textContent = view.held ? view.reason : '';
    document.getElementById('org-reset').hidden = view.matches;
  }

  async function load() {
    if (!buildCard() && !document.getElementById('org-card')) return;
    try {
      render(await call('/admin/organization'));
      document.getElementById('org-status').textContent = '';
    } catch (error) {
      // No ispring section: no organization to show.
      document.getElementById('org-card').hidden = error.status === 404;
      document.getElementById('org-status').textContent = 'Organization: ' + error.message;
    }
  }

  function openDialog() {
    if (!current) return;
    document.getElementById('org-forgets')
        .replaceChildren(...forgetsList(current).map((line) => el('li', {text: line})));
    document.getElementById('org-expected').textContent = current.configured;
    const input = document.getElementById('org-confirm');
    input.value = '';
    document.getElementById('org-confirm-reset').disabled = true;
    document.getElementById('org-dialog-error').textContent = '';
    document.getElementById('org-dialog').showModal();
    input.focus();
  }

  async function confirmReset() {
    const typed = document.getElementById('org-confirm').value.trim();
    try {
      const answer = await call('/admin/organization/reset', 'POST', {confirm: typed});
      document.getElementById('org-dialog').close();
      render(answer);
      document.getElementById('org-status').textContent =
          `Reset: forgot ${answer.forgot.user_links} user link(s); writing to iSpring resumes.`;
    } catch (error) {
      document.getElementById('org-dialog-error').textContent = error.message;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    buildCard();
    document.getElementById('org-reset')?.addEventListener('click', openDialog);
    document.getElementById('org-cancel')
        ?.addEventListener('click', () => document.getElementById('org-dialog').close());
    document.getElementById('org-confirm')?.addEventListener('input', (event) => {
      document.getElementById('org-confirm-reset').disabled =
          !current || event.target.value.trim() !== current.configured;
    });
    document.getElementById('org-confirm-reset')?.addEventListener('click', confirmReset);
    document.getElementById('tab-authorization')?.addEventListener('click', load);
    if (sessionStorage.getItem(TOKEN_KEY)) load();
  });
})();
