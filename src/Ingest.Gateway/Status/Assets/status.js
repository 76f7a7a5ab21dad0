// Live status page of the Ingest admin port: polls /status/data every second and renders it.
// The admin token comes from #token=... (never sent to a server), ?token=..., or the form, and is
// kept in this tab's sessionStorage only.
(() => {
  'use strict';
  const STORAGE_KEY = 'ingest-admin-token';
  const POLL_MS = 1000;

  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token')
    || new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(STORAGE_KEY, fromUrl);
    // Drop the token from the address bar and history.
    history.replaceState(null, '', location.pathname);
  }
  let token = sessionStorage.getItem(STORAGE_KEY) || '';

  const $ = (id) => document.getElementById(id);
  const state = $('state');
  const form = $('token-form');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(STORAGE_KEY, token);
    form.hidden = true;
    poll();
  });

  const fixed = (value, digits) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits));

  function cell(row, className, text, extraClass) {
    const td = document.createElement('td');
    td.className = className + (extraClass ? ' ' + extraClass : '');
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function renderRoutes(routes) {
    const body = $('routes').tBodies[0];
    const rows = routes.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.route = r.route;
      cell(tr, 'route', r.route);
      cell(tr, 'requests num', String(r.requests));
      cell(tr, 'rate num', fixed(r.ratePerSecond, 2));
      cell(tr, 'last-second num', String(r.lastSecond));
      cell(tr, 'errors4xx num', String(r.errors4xx), r.errors4xx > 0 ? 'has-4xx' : '');
      cell(tr, 'rate4xx num', fixed(r.rate4xx, 2));
      cell(tr, 'errors5xx num', String(r.errors5xx), r.errors5xx > 0 ? 'has-5xx' : '');
      cell(tr, 'rate5xx num', fixed(r.rate5xx, 2));
      cell(tr, 'p50 num', fixed(r.p50Ms, 2));
      cell(tr, 'p95 num', fixed(r.p95Ms, 2));
      cell(tr, 'p99 num', fixed(r.p99Ms, 2));
      return tr;
    });
    body.replaceChildren(...(rows.length ? rows : [emptyRow(11, 'no routes')]));
  }

  function renderTargets(targets) {
    const body = $('targets').tBodies[0];
    const rows = targets.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.target = t.name;
      cell(tr, 'name', t.name);
      cell(tr, 'type', t.type || '');
      cell(tr, 'queued num', String(t.queued));
      cell(tr, 'delivered num', String(t.delivered));
      cell(tr, 'dead-lettered num', String(t.deadLettered), t.deadLettered > 0 ? 'has-5xx' : '');
      cell(tr, 'lag-p50 num', fixed(t.lagP50Ms, 1));
      cell(tr, 'lag-p95 num', fixed(t.lagP95Ms, 1));
      cell(tr, 'reachable', t.reachable ? 'yes' : 'NO', t.reachable ? '' : 'unreachable');
      return tr;
    });
    body.replaceChildren(...(rows.length ? rows : [emptyRow(8, 'no targets')]));
  }

  function emptyRow(span, text) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    const td = document.createElement('td');
    td.colSpan = span;
    td.textContent = text;
    tr.appendChild(td);
    return tr;
  }

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }

  let inFlight = false;
  async function poll() {
    if (inFlight) return;
    inFlight = true;
    try {
      const response = await fetch('/status/data', {
        cache: 'no-store',
        headers: token ? { Authorization: 'Bearer ' + token } : {},
      });
      if (response.status === 401 || response.status === 403) {
        const body = await response.json().catch(() => ({}));
        $('token-message').textContent = body.message || 'Unauthorized';
        form.hidden = false;
        setState('error', response.status === 403 ? 'admin API disabled' : 'admin token needed');
        return;
      }
      if (!response.ok) {
        setState('error', 'error ' + response.status);
        return;
      }
      const data = await response.json();
      $('window').textContent = String(data.windowSeconds);
      renderRoutes(data.routes);
      renderTargets(data.targets);
      const updated = $('updated');
      updated.dateTime = data.generatedAt;
      updated.textContent = new Date(data.generatedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
      setState('live', 'live');
    } catch (error) {
      setState('error', 'gateway unreachable');
    } finally {
      inFlight = false;
    }
  }

  poll();
  setInterval(poll, POLL_MS);
})();
