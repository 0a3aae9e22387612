// The unipelt dashboard: three pages (sweeps, one sweep, one job) over the public /v1 API, drawn with
// plain DOM and SVG. Routing is by the URL fragment (#/, #/sweeps/ID, #/jobs/ID), so the server serves
// one page. The API token, when the server wants one, lives in sessionStorage and goes out only as a
// Bearer header: never in a URL, so downloads are fetched and handed to the browser as blobs.
'use strict';

(() => {
  const TOKEN_KEY = 'unipelt.apiToken';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const main = document.getElementById('main');
  const statusLine = document.getElementById('status-line');
  const terminalJob = new Set(['succeeded', 'failed', 'cancelled']);
  const statusGlyph = { queued: '·', running: '▶', cancelling: '…', succeeded: '✓', failed: '✗', cancelled: '⊘' };
  // Okabe–Ito, for the curves: distinguishable with the common colour-vision deficiencies.
  const seriesColours = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];
  const seriesDashes = ['', '6 3', '2 3', '8 3 2 3'];

  // The page shown now: its timers and requests end when another page is opened.
  let page = null;

  // MARK: DOM helpers

  function build(namespace, tag, attributes, children) {
    const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const el = (tag, attributes, ...children) => build(null, tag, attributes, children);
  const svg = (tag, attributes, ...children) => build(SVG_NS, tag, attributes, children);

  function formatTime(seconds) {
    if (seconds === null || seconds === undefined) return el('span', { class: 'muted', text: '—' });
    const date = new Date(seconds * 1000);
    return el('time', { datetime: date.toISOString(), text: date.toLocaleString() });
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) return '—';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  function formatBytes(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toLocaleString(undefined, { maximumFractionDigits: unit ? 1 : 0 })} ${units[unit]}`;
  }

  function formatNumber(value, digits = 4) {
    if (typeof value !== 'number') return value === null || value === undefined ? '—' : String(value);
    return Number.isInteger(value) ? value.toLocaleString() : value.toLocaleString(undefined, { maximumSignificantDigits: digits });
  }

  const chip = (status) => el('span', { class: `chip status-${status}`, text: status });

  function progressBar(fraction, label) {
    const bar = el('span');
    bar.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10}%`;
    return el('div', { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0,
      'aria-valuemax': 100, 'aria-valuenow': Math.round(fraction * 100) }, bar);
  }

  function metaList(pairs) {
    return el('dl', { class: 'meta' }, pairs.map(([name, value]) => el('div', {}, el('dt', { text: name }), el('dd', {}, value))));
  }

  function section(title, ...children) {
    return el('section', { class: 'panel', 'aria-label': title }, el('h2', { text: title }), ...children);
  }

  function report(error) {
    if (error && error.name === 'AbortError') return;
    statusLine.textContent = error instanceof Error ? error.message : String(error);
  }

  function clearReport() { statusLine.textContent = ''; }

  // Replaces `container`'s content unless the new content looks the same, so a periodic refresh keeps the
  // keyboard focus and the scroll position.
  function update(container, ...nodes) {
    const next = nodes.filter((node) => node !== null && node !== undefined && node !== '')
      .map((node) => (node instanceof Node ? node : document.createTextNode(String(node))));
    const current = [...container.childNodes];
    if (current.length === next.length && current.every((node, index) => node.isEqualNode(next[index]))) return;
    container.replaceChildren(...next);
  }

  // MARK: API access

  let tokenPrompt = null;

  function askToken() {
    if (!tokenPrompt) {
      tokenPrompt = new Promise((resolve) => {
        const dialog = document.getElementById('token-dialog');
        const input = document.getElementById('token-input');
        input.value = '';
        dialog.addEventListener('close', () => {
          const token = input.value.trim();
          input.value = '';
          if (token) sessionStorage.setItem(TOKEN_KEY, token);
          tokenPrompt = null;
          showForgetButton();
          resolve(Boolean(token));
        }, { once: true });
        dialog.showModal();
      });
    }
    return tokenPrompt;
  }

  function showForgetButton() {
    document.getElementById('forget-token').hidden = !sessionStorage.getItem(TOKEN_KEY);
  }

  class APIError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `request failed with status ${status}`);
      this.status = status;
    }
  }

  // A request with the token; a 401 asks for the token once and tries again.
  async function request(path, options = {}) {
    for (let attempt = 0; ; attempt += 1) {
      const headers = new Headers(options.headers || {});
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) headers.set('Authorization', `Bearer ${token}`);
      const response = await fetch(path, { ...options, headers, cache: 'no-store', signal: options.signal || page.abort.signal });
      if (response.status !== 401 || attempt > 0) return response;
      sessionStorage.removeItem(TOKEN_KEY);
      if (!(await askToken())) return response;
    }
  }

  async function api(path, options) {
    const response = await request(path, options);
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new APIError(response.status, body);
    return body;
  }

  // Endpoints a server may not have yet: their body on 200, null otherwise.
  async function optionalAPI(path) {
    const response = await request(path);
    return response.ok ? response.json().catch(() => null) : null;
  }

  function post(path, body = {}) {
    return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  // Every item of a list endpoint, following `after` cursors (bounded, for a sweep of up to 10 000 jobs).
  async function listAll(path) {
    const items = [];
    let after = null;
    for (let pageCount = 0; pageCount < 100; pageCount += 1) {
      const body = await api(`${path}${path.includes('?') ? '&' : '?'}limit=100${after ? `&after=${after}` : ''}`);
      items.push(...body.data);
      if (!body.has_more || !body.last_id) break;
      after = body.last_id;
    }
    return items;
  }

  async function download(path, fileName, button) {
    button.disabled = true;
    try {
      const response = await request(path);
      if (!response.ok) throw new APIError(response.status, await response.json().catch(() => null));
      const url = URL.createObjectURL(await response.blob());
      const link = el('a', { href: url, download: fileName, class: 'hidden' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  }

  const downloadButton = (label, path, fileName) => {
    const button = el('button', { type: 'button', class: 'quiet' }, label);
    button.addEventListener('click', () => download(path, fileName, button));
    return button;
  };

  function confirmAction(text, yesLabel) {
    return new Promise((resolve) => {
      const dialog = document.getElementById('confirm-dialog');
      document.getElementById('confirm-text').textContent = text;
      document.getElementById('confirm-yes').textContent = yesLabel;
      dialog.returnValue = '';
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
      dialog.showModal();
    });
  }

  // Runs `task` now and every `milliseconds` while the page is shown, never two at once. A failed run's message
  // goes once a later run succeeds (a passing 503 must not make a working page look broken).
  function repeat(milliseconds, task) {
    let busy = false;
    let failed = false;
    const tick = async () => {
      if (busy || page.abort.signal.aborted) return;
      busy = true;
      try {
        await task();
        if (failed) clearReport();
        failed = false;
      } catch (error) {
        report(error);
        failed = true;
      } finally { busy = false; }
    };
    page.timers.push(setInterval(tick, milliseconds));
    return tick();
  }

  const sleep = (milliseconds, signal) => new Promise((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

  // Reads a server-sent event stream through fetch (EventSource cannot send a Bearer header). Calls
  // `onRecord` per record and resumes after a dropped connection from the last id; returns the `end`
  // record's data.
  async function followStream(path, onRecord) {
    const signal = page.abort.signal;
    let lastID = null;
    while (!signal.aborted) {
      try {
        const headers = { Accept: 'text/event-stream' };
        if (lastID !== null) headers['Last-Event-ID'] = lastID;
        const response = await request(path, { headers });
        if (!response.ok) throw new APIError(response.status, await response.json().catch(() => null));
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let boundary;
          while ((boundary = buffer.indexOf('\n\n')) >= 0) {
            const record = { event: 'message', id: null, data: [] };
            for (const line of buffer.slice(0, boundary).split('\n')) {
              const colon = line.indexOf(':');
              if (colon <= 0) continue;
              const field = line.slice(0, colon);
              const text = line.slice(colon + 1).replace(/^ /, '');
              if (field === 'data') record.data.push(text);
              else if (field === 'event') record.event = text;
              else if (field === 'id') record.id = text;
            }
            buffer = buffer.slice(boundary + 2);
            if (record.data.length === 0) continue;
            const data = JSON.parse(record.data.join('\n'));
            if (record.event === 'end') return data;
            if (record.event === 'error') throw new Error(data.error ? data.error.message : 'stream failed');
            if (record.id !== null) lastID = record.id;
            onRecord(data);
          }
        }
      } catch (error) {
        report(error);
      }
      await sleep(2000, signal);
    }
    return null;
  }

  // MARK: Pages

  function route() {
    if (page) {
      page.abort.abort();
      page.timers.forEach(clearInterval);
    }
    page = { abort: new AbortController(), timers: [] };
    clearReport();
    main.replaceChildren();
    const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
    let match;
    let shown;
    if ((match = path.match(/^\/sweeps\/(swp_[0-9a-f]{24})$/))) shown = sweepPage(match[1]);
    else if ((match = path.match(/^\/jobs\/(job_[0-9a-f]{24})$/))) shown = jobPage(match[1]);
    else shown = sweepsPage(new URLSearchParams(query || '').get('after'));
    shown.catch(report);
  }

  // MARK: Sweeps

  // Cursors of the pages before this one, so "Newer" can step back.
  const sweepCursors = [];

  async function sweepsPage(after) {
    document.title = 'Sweeps · unipelt';
    const body = el('tbody');
    const pager = el('nav', { class: 'pager', 'aria-label': 'Sweep pages' });
    main.append(el('h1', { text: 'Sweeps' }), el('div', { class: 'scroll' }, el('table', { id: 'sweeps' },
      el('thead', {}, el('tr', {}, ['Name', 'Status', 'Progress', 'Jobs by status', 'Created'].map((name) => el('th', { scope: 'col', text: name })))),
      body)), pager);
    await repeat(3000, async () => {
      const list = await api(`/v1/sweeps?limit=20${after ? `&after=${after}` : ''}`);
      update(body, ...list.data.map((sweep) => el('tr', { 'data-id': sweep.id },
        el('td', {}, el('a', { href: `#/sweeps/${sweep.id}`, text: sweep.name || sweep.id })),
        el('td', {}, chip(sweep.status)),
        el('td', {}, progressBar(sweep.progress.fraction, `progress of ${sweep.name || sweep.id}`),
          el('span', { class: 'muted', text: `${sweep.progress.finished} of ${sweep.progress.total} finished` })),
        el('td', {}, el('div', { class: 'chips' }, Object.entries(sweep.counts).filter(([, count]) => count > 0)
          .map(([status, count]) => el('span', { class: `chip status-${status}`, text: `${count} ${status}` })))),
        el('td', {}, formatTime(sweep.created_at)))),
        list.data.length === 0 ? el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'No sweeps yet.' })) : null);
      update(pager, ...[
        after ? el('button', { type: 'button', class: 'quiet', onclick: () => { location.hash = sweepCursors.pop() || '#/'; } }, 'Newer') : null,
        list.has_more ? el('button', { type: 'button', class: 'quiet', onclick: () => {
          sweepCursors.push(location.hash || '#/');
          location.hash = `#/?after=${list.last_id}`;
        } }, 'Older') : null].filter(Boolean));
    });
  }

  // MARK: One sweep

  async function sweepPage(id) {
    const title = el('h1', { text: id });
    const meta = el('div');
    const controls = el('div', { class: 'buttons', role: 'group', 'aria-label': 'Sweep controls' });
    const grid = el('div', { class: 'scroll', id: 'jobs-grid' });
    const table1 = el('div', { class: 'scroll', id: 'table1' });
    const table2 = section('Table 2');
    const comparison = section('Comparison');
    const gates = section('Gates across the sweep');
    [table2, comparison, gates].forEach((node) => node.classList.add('hidden'));
    main.append(el('p', {}, el('a', { href: '#/', text: '← Sweeps' })), title, meta, controls,
      section('Jobs', el('p', { class: 'muted', text: 'Rows: method; columns: task and K, then seed. Each square opens its job.' }), statusLegend(), grid),
      section('Table 1: mean ± std over seeds', table1,
        el('div', { class: 'buttons' }, downloadButton('Results CSV', `/v1/sweeps/${id}/results?format=csv`, `${id}-results.csv`))),
      table2, comparison, gates);

    let methods = [];
    let refreshExtras = null;
    let refreshes = 0;
    const refresh = async () => {
      const [sweep, jobs, results] = await Promise.all([api(`/v1/sweeps/${id}`), listAll(`/v1/jobs?sweep_id=${id}`),
        api(`/v1/sweeps/${id}/results`)]);
      document.title = `${sweep.name || id} · unipelt`;
      title.textContent = sweep.name ? `Sweep ${sweep.name}` : `Sweep ${id}`;
      update(meta, metaList([['Status', chip(sweep.status)],
        ['Progress', el('div', {}, progressBar(sweep.progress.fraction, 'sweep progress'),
          el('span', { class: 'muted', text: `${sweep.progress.finished} of ${sweep.progress.total} finished` }))],
        ['Jobs by status', el('div', { class: 'chips' }, Object.entries(sweep.counts).filter(([, n]) => n > 0)
          .map(([status, n]) => el('span', { class: `chip status-${status}`, text: `${n} ${status}` })))],
        ['Created', formatTime(sweep.created_at)], ['Updated', formatTime(sweep.updated_at)], ['Id', el('code', { text: id })]]));
      renderSweepControls(controls, sweep, refresh);
      update(grid, jobsGrid(jobs));
      update(table1, resultsTable(results));
      methods = [...new Set(jobs.map((job) => job.method))];
      // Table 2, the comparison and the gates cost the server more (a bootstrap): every tenth refresh.
      if (!refreshExtras) refreshExtras = await probeExtras(id, methods, table2, comparison, gates);
      else if (++refreshes % 10 === 0) await refreshExtras();
    };
    await repeat(3000, refresh);
  }

  function renderSweepControls(container, sweep, refresh) {
    // A sweep with a job still cancelling cannot be retried yet (that job would be left out).
    const retryable = (sweep.counts.cancelling || 0) === 0 ? (sweep.counts.failed || 0) + (sweep.counts.cancelled || 0) : 0;
    const action = (label, path, enabled, confirmText) => {
      const button = el('button', { type: 'button', class: confirmText ? 'danger' : '', disabled: !enabled, id: `sweep-${path}` }, label);
      button.addEventListener('click', async () => {
        if (confirmText && !(await confirmAction(confirmText, 'Yes, cancel'))) return;
        button.disabled = true;
        try { await post(`/v1/sweeps/${sweep.id}/${path}`); await refresh(); } catch (error) { report(error); }
      });
      return button;
    };
    const open = sweep.status === 'active' || sweep.status === 'paused';
    update(container,
      action('Pause', 'pause', sweep.status === 'active'),
      action('Resume', 'resume', sweep.status === 'paused'),
      action('Retry failed and cancelled', 'retry', retryable > 0),
      action('Cancel sweep', 'cancel', open,
        'Cancel every queued and running job of this sweep?'));
  }

  function statusLegend() {
    return el('div', { class: 'legend', 'aria-hidden': 'true' }, Object.entries(statusGlyph).map(([status, glyph]) =>
      el('span', {}, el('span', { class: `cell status-${status}`, text: glyph }), ` ${status}`)));
  }

  // Jobs as squares: rows are methods (with any hyperparameter variant), columns task × K, then seed.
  function jobsGrid(jobs) {
    const rowOf = (job) => job.key.split('/').filter((part, index) => index > 0 && !/^(K|seed)=/.test(part)).join('/') || job.method;
    const groupOf = (job) => `${job.task} K=${job.k}`;
    const unique = (values) => [...new Set(values)];
    // Lists come newest first; a sweep's jobs were made in the order of its expansion.
    const ordered = [...jobs].reverse();
    const rows = unique(ordered.map(rowOf));
    const kOrder = (k) => (k === 'all' ? Infinity : Number(k));
    const groups = unique([...ordered].sort((a, b) => (a.task === b.task ? kOrder(a.k) - kOrder(b.k) : 0)).map(groupOf));
    const seeds = unique(jobs.map((job) => job.seed)).sort((a, b) => a - b);
    const cells = new Map();
    for (const job of jobs) {
      const key = `${rowOf(job)}|${groupOf(job)}|${job.seed}`;
      cells.set(key, [...(cells.get(key) || []), job]);
    }
    const head = el('thead', {},
      el('tr', {}, el('th', {}), groups.map((group) => el('th', { scope: 'colgroup', colspan: seeds.length, text: group }))),
      el('tr', {}, el('th', { class: 'row', text: 'method' }), groups.map(() => seeds.map((seed) => el('th', { scope: 'col', text: `s${seed}` })))));
    const body = el('tbody', {}, rows.map((row) => el('tr', {}, el('th', { scope: 'row', class: 'row', text: row }),
      groups.map((group) => seeds.map((seed) => el('td', {}, (cells.get(`${row}|${group}|${seed}`) || []).map((job) =>
        el('a', { class: `cell status-${job.status}`, href: `#/jobs/${job.id}`, 'data-status': job.status,
          title: `${job.key}: ${job.status}`, 'aria-label': `${job.key}: ${job.status}`, text: statusGlyph[job.status] || '?' }))))))));
    return el('table', { class: 'grid' }, head, body);
  }

  // Table 1: one row per K × method (variant), one column per task (the server's columns, in the paper's order:
  // a task without values yet stays an empty column, and the average stays empty until every task has one),
  // mean ± std over seeds.
  function resultsTable(results) {
    const rows = results.data;
    if (rows.length === 0) return el('p', { class: 'muted', text: 'No finished jobs yet.' });
    const tasks = results.tasks || [...new Set(rows.flatMap((row) => Object.keys(row.tasks)))];
    const cell = (result) => {
      if (!result) return el('td', { class: 'num muted', text: '—' });
      const text = result.std === null ? result.mean.toFixed(1) : `${result.mean.toFixed(1)} ± ${result.std.toFixed(1)}`;
      return el('td', { class: 'num', title: `${result.metric || ''} n=${result.n} of ${result.job_count} jobs` }, text,
        result.n < result.job_count ? el('span', { class: 'muted', text: ` (${result.n}/${result.job_count})` }) : null);
    };
    return el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'K' }), el('th', { scope: 'col', text: 'Method' }),
        tasks.map((task) => el('th', { scope: 'col', class: 'num', text: task })), el('th', { scope: 'col', class: 'num', text: 'Avg' }))),
      el('tbody', {}, rows.map((row) => el('tr', {}, el('td', { text: row.k }),
        el('td', { text: row.variant ? `${row.method} ${row.variant}` : row.method }),
        tasks.map((task) => cell(row.tasks[task])),
        el('td', { class: 'num', text: row.average === null ? '—' : row.average.toFixed(1) })))));
  }

  // Table 2, method comparisons and sweep-wide gates come from endpoints a server may not offer; each
  // section shows only when its endpoint answers. Returns what refetches the sections shown.
  async function probeExtras(id, methods, table2, comparison, gates) {
    const refreshers = [];
    const second = await optionalAPI(`/v1/sweeps/${id}/results?table=2`);
    // A server without Table 2 ignores the parameter and answers with Table 1.
    if (second && (second.table === 2 || second.object !== 'sweep.results')) {
      const body = el('div', {}, genericView(second));
      table2.append(body, el('div', { class: 'buttons' },
        downloadButton('Table 2 CSV', `/v1/sweeps/${id}/results?table=2&format=csv`, `${id}-table2.csv`)));
      table2.classList.remove('hidden');
      refreshers.push(async () => update(body, genericView(await api(`/v1/sweeps/${id}/results?table=2`))));
    }
    if (methods.length >= 2) {
      const compared = await optionalAPI(`/v1/sweeps/${id}/compare?a=${encodeURIComponent(methods[0])}&b=${encodeURIComponent(methods[1])}`);
      if (compared) {
        const output = el('div', { class: 'scroll' }, genericView(compared));
        const chooser = (name, selected) => el('select', { 'aria-label': `method ${name}` },
          methods.map((method) => el('option', { value: method, selected: method === selected, text: method })));
        const a = chooser('a', methods[0]);
        const b = chooser('b', methods[1]);
        const update = async () => {
          try {
            const body = await api(`/v1/sweeps/${id}/compare?a=${encodeURIComponent(a.value)}&b=${encodeURIComponent(b.value)}`);
            output.replaceChildren(genericView(body));
          } catch (error) { output.replaceChildren(el('p', { class: 'error', text: error.message })); }
        };
        a.addEventListener('change', update);
        b.addEventListener('change', update);
        comparison.append(el('div', { class: 'buttons' }, el('label', {}, 'A ', a), el('label', {}, 'B ', b)), output);
        comparison.classList.remove('hidden');
        refreshers.push(update);
      }
    }
    const sweepGates = await optionalAPI(`/v1/sweeps/${id}/gates`);
    if (sweepGates) {
      const body = el('div', { class: 'scroll' }, genericView(sweepGates));
      gates.append(body);
      gates.classList.remove('hidden');
      refreshers.push(async () => update(body, genericView(await api(`/v1/sweeps/${id}/gates`))));
    }
    return async () => { for (const refresh of refreshers) await refresh(); };
  }

  // An API object of a shape this page does not know in detail: its `data` list as a table, else its fields.
  function genericView(value) {
    const show = (item) => (item !== null && typeof item === 'object' ? JSON.stringify(item) : formatNumber(item));
    const list = Array.isArray(value) ? value : Array.isArray(value && value.data) ? value.data : null;
    if (list && list.every((item) => item && typeof item === 'object' && !Array.isArray(item))) {
      const columns = [...new Set(list.flatMap((item) => Object.keys(item)))].filter((key) => key !== 'object');
      return el('table', {}, el('thead', {}, el('tr', {}, columns.map((column) => el('th', { scope: 'col', text: column })))),
        el('tbody', {}, list.map((item) => el('tr', {}, columns.map((column) =>
          el('td', { class: typeof item[column] === 'number' ? 'num' : '', text: show(item[column]) }))))));
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return el('table', {}, el('tbody', {}, Object.entries(value).filter(([key]) => key !== 'object').map(([key, item]) =>
        el('tr', {}, el('th', { scope: 'row', text: key }), el('td', {}, item && typeof item === 'object' ? genericView(item) : show(item))))));
    }
    return el('p', { text: show(value) });
  }

  // MARK: One job

  async function jobPage(id) {
    const title = el('h1', { text: id });
    const meta = el('div');
    const progress = el('div', { id: 'job-progress' });
    const controls = el('div', { class: 'buttons', role: 'group', 'aria-label': 'Job controls' });
    const failure = el('div');
    const lossChart = el('div', { id: 'loss-chart' });
    const metricChart = el('div', { id: 'metric-chart' });
    const gatePanel = el('div', { id: 'gates' });
    const checkpoints = el('div', { class: 'scroll', id: 'checkpoints' });
    const events = el('tbody');
    const spec = el('pre', { id: 'spec' });
    main.append(el('p', {}, el('a', { href: '#/', text: '← Sweeps' }), el('span', { id: 'sweep-link' })), title, meta,
      progress, controls, failure,
      el('div', { class: 'panels' },
        section('Loss (training and dev)', lossChart, el('div', { class: 'buttons' },
          downloadButton('Metrics CSV', `/v1/jobs/${id}/metrics?format=csv&limit=10000`, `${id}-metrics.csv`))),
        section('Dev and test metrics', metricChart),
        section('Gates (layer × submodule)', gatePanel, el('div', { class: 'buttons' },
          downloadButton('Gates CSV', `/v1/jobs/${id}/gates?format=csv&limit=10000`, `${id}-gates.csv`))),
        section('Checkpoints', checkpoints)),
      section('Events', el('div', { class: 'scroll events', tabindex: 0, 'aria-label': 'Event log' }, el('table', { id: 'events' },
        el('thead', {}, el('tr', {}, ['Time', 'Level', 'Type', 'Message'].map((name) => el('th', { scope: 'col', text: name,
          class: name === 'Level' ? 'hide-narrow' : null })))), events))),
      section('Spec', spec));

    // Curves: step → metric values, filled by the live stream.
    const steps = new Map();
    let drawPending = false;
    const drawCurves = () => {
      drawPending = false;
      const ordered = [...steps.values()].sort((a, b) => a.step - b.step);
      const names = [...new Set(ordered.flatMap((point) => Object.keys(point)))]
        .filter((name) => !['object', 'step', 'epoch', 'wall_time'].includes(name)).sort();
      const series = (name) => ({ name, points: ordered.filter((point) => typeof point[name] === 'number').map((point) => [point.step, point[name]]) });
      lineChart(lossChart, 'loss', names.filter((name) => name.endsWith('loss') || name.endsWith('loss_mean')).map(series));
      lineChart(metricChart, 'metric', names.filter((name) => /^(valid|test)_/.test(name) && !/loss/.test(name)).map(series));
    };
    drawCurves();
    const metricsDone = followStream(`/v1/jobs/${id}/metrics?stream=true`, (point) => {
      steps.set(point.step, { ...(steps.get(point.step) || {}), ...point });
      if (!drawPending) { drawPending = true; setTimeout(drawCurves, 150); }
    });

    const gateSteps = [];
    const heatmap = gateHeatmap(gatePanel);
    let lastEvent = null;
    const shownEvents = new Set();
    let job = null;
    const refresh = async () => {
      job = await api(`/v1/jobs/${id}`);
      renderJobHeader(job, { title, meta, progress, controls, failure, spec });
      const next = gateSteps.length ? `&after_step=${gateSteps[gateSteps.length - 1].step}` : '';
      const gates = await api(`/v1/jobs/${id}/gates?limit=10000${next}`);
      gateSteps.push(...gates.data);
      heatmap(gateSteps, job);
      for (let more = true; more;) {
        const batch = await api(`/v1/jobs/${id}/events?limit=100${lastEvent ? `&after=${lastEvent}` : ''}`);
        // A final look after the stream's end may overlap a poll: each event is shown once.
        const fresh = batch.data.filter((event) => !shownEvents.has(event.id));
        fresh.forEach((event) => shownEvents.add(event.id));
        events.append(...fresh.map((event) => el('tr', { class: `level-${event.level}` },
          el('td', {}, formatTime(event.created_at)), el('td', { class: 'hide-narrow', text: event.level }), el('td', { text: event.type }),
          el('td', { text: event.message }))));
        if (batch.last_id) lastEvent = batch.last_id;
        more = batch.has_more;
      }
      update(checkpoints, checkpointTable(id, (await api(`/v1/jobs/${id}/checkpoints`)).data));
      if (terminalJob.has(job.status)) {
        page.timers.forEach(clearInterval);
        page.timers = [];
      }
    };
    await repeat(2000, refresh);
    await metricsDone;
    // The stream's `end` means every row was written: one last look at everything else.
    if (!page.abort.signal.aborted && job && !terminalJob.has(job.status)) await refresh().catch(report);
  }

  function renderJobHeader(job, parts) {
    document.title = `${job.key} · unipelt`;
    parts.title.textContent = `Job ${job.key}`;
    const sweepLink = document.getElementById('sweep-link');
    if (sweepLink && job.sweep_id && !sweepLink.firstChild) {
      sweepLink.append(' · ', el('a', { href: `#/sweeps/${job.sweep_id}`, text: 'its sweep' }));
    }
    update(parts.meta, metaList([
      ['Status', el('span', { id: 'job-status', 'data-status': job.status }, chip(job.status))],
      ['Task', job.task], ['K', String(job.k)], ['Seed', String(job.seed)], ['Method', job.method],
      ['Model', typeof job.model === 'string' ? job.model : JSON.stringify(job.model)],
      ['Attempt', `${job.attempt} of ${job.max_attempts}`], ['Created', formatTime(job.created_at)],
      ['Started', formatTime(job.started_at)], ['Finished', formatTime(job.finished_at)],
      ['Best metric', job.best_metric ? `${job.best_metric.name} ${formatNumber(job.best_metric.value)}` : '—'],
      ['Test metric', job.result && typeof job.result.test_metric === 'number' ? formatNumber(job.result.test_metric) : '—']]));
    const p = job.progress;
    const stepText = p ? `step ${p.step}${p.total_steps ? ` of ${p.total_steps}` : ''}` : '';
    const reached = p && p.total_steps ? p.step / p.total_steps : 0;
    if (terminalJob.has(job.status)) {
      // Progress comes with heartbeats, so a finished job's last report may stop short of its end.
      const took = job.started_at !== null && job.finished_at !== null ? ` after ${formatDuration(job.finished_at - job.started_at)}` : '';
      update(parts.progress, progressBar(job.status === 'succeeded' ? 1 : reached, 'job progress'), el('p', { class: 'muted',
        text: `${job.status}${took}${job.status !== 'succeeded' && p ? ` (last report: ${stepText})` : ''}` }));
    } else if (p) {
      const eta = p.eta_seconds !== null
        ? `ETA ${formatDuration(p.eta_seconds)} (about ${new Date(Date.now() + p.eta_seconds * 1000).toLocaleTimeString()})` : '';
      update(parts.progress, progressBar(reached, 'job progress'), el('p', { class: 'muted',
        text: [stepText, p.epoch !== null ? `epoch ${formatNumber(p.epoch, 3)}` : '', eta].filter(Boolean).join(' · ') }));
    } else {
      update(parts.progress, el('p', { class: 'muted', text: job.status === 'queued' ? 'Waiting in the queue.' : 'No progress reported.' }));
    }
    if (!parts.controls.firstChild || parts.controls.dataset.status !== job.status) {
      parts.controls.dataset.status = job.status;
      const cancel = el('button', { type: 'button', class: 'danger', id: 'job-cancel', disabled: terminalJob.has(job.status) || job.status === 'cancelling' }, 'Cancel job');
      cancel.addEventListener('click', async () => {
        if (!(await confirmAction(`Cancel job ${job.key}? A running job stops at its next step.`, 'Yes, cancel'))) return;
        cancel.disabled = true;
        // The page's next poll shows the new status.
        try { await post(`/v1/jobs/${job.id}/cancel`); } catch (error) { report(error); }
      });
      const retry = el('button', { type: 'button', id: 'job-retry', disabled: !(job.status === 'failed' || job.status === 'cancelled') }, 'Retry job');
      retry.addEventListener('click', async () => {
        retry.disabled = true;
        try { await post(`/v1/jobs/${job.id}/retry`); location.reload(); } catch (error) { report(error); }
      });
      parts.controls.replaceChildren(cancel, retry);
    }
    update(parts.failure, job.error ? el('p', { class: 'error', id: 'job-error' },
      el('strong', { text: `${job.error.code}: ` }), job.error.message) : '');
    parts.spec.textContent = JSON.stringify({ task: job.task, k: job.k, seed: job.seed, method: job.method, model: job.model,
      hyperparameters: job.hyperparameters, max_attempts: job.max_attempts }, null, 2);
  }

  function checkpointTable(jobID, list) {
    if (list.length === 0) return el('p', { class: 'muted', text: 'No checkpoints yet.' });
    return el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Step', 'Size', 'SHA-256', ''].map((name) => el('th', { scope: 'col', text: name })))),
      el('tbody', {}, list.map((checkpoint) => el('tr', {},
        el('td', { text: checkpoint.is_best && checkpoint.name !== 'best' ? `${checkpoint.name} (best)` : checkpoint.name }),
        el('td', { class: 'num', text: checkpoint.step.toLocaleString() }),
        el('td', { class: 'num', text: formatBytes(checkpoint.bytes) }),
        el('td', {}, el('code', { class: 'hash', text: checkpoint.sha256 })),
        el('td', {}, downloadButton(`Download ${checkpoint.name}`, `/v1/jobs/${jobID}/checkpoints/${checkpoint.id}/content`,
          `${jobID}-${checkpoint.name}.safetensors`))))));
  }

  // MARK: Charts

  function niceTicks(low, high, count) {
    if (low === high) { low -= 1; high += 1; }
    const rough = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
    const ticks = [];
    for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
    return ticks;
  }

  // Line chart of `series` ({name, points: [[step, value]]}) into `container`, with its legend.
  function lineChart(container, yLabel, series) {
    const width = 600;
    const height = 260;
    const margin = { left: 56, right: 12, top: 12, bottom: 34 };
    const all = series.flatMap((line) => line.points);
    const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': `${yLabel} over steps: ${series.map((line) => line.name).join(', ') || 'no points yet'}`,
      'data-points': all.length });
    if (all.length === 0) {
      chart.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', text: 'No points yet' }));
      container.replaceChildren(chart);
      return;
    }
    const xs = all.map((point) => point[0]);
    const ys = all.map((point) => point[1]);
    const xTicks = niceTicks(Math.min(0, ...xs), Math.max(...xs), 6);
    const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 5);
    const [x0, x1] = [Math.min(0, ...xs, xTicks[0]), Math.max(...xs, xTicks[xTicks.length - 1])];
    const [y0, y1] = [Math.min(...ys, yTicks[0]), Math.max(...ys, yTicks[yTicks.length - 1])];
    const x = (value) => margin.left + ((value - x0) / (x1 - x0 || 1)) * (width - margin.left - margin.right);
    const y = (value) => height - margin.bottom - ((value - y0) / (y1 - y0 || 1)) * (height - margin.top - margin.bottom);
    for (const tick of yTicks) {
      chart.append(svg('line', { class: 'gridline', x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick) }),
        svg('text', { x: margin.left - 6, y: y(tick) + 4, 'text-anchor': 'end', text: formatNumber(tick, 3) }));
    }
    for (const tick of xTicks) {
      chart.append(svg('text', { x: x(tick), y: height - margin.bottom + 16, 'text-anchor': 'middle', text: formatNumber(tick) }));
    }
    chart.append(svg('line', { class: 'axis', x1: margin.left, x2: margin.left, y1: margin.top, y2: height - margin.bottom }),
      svg('line', { class: 'axis', x1: margin.left, x2: width - margin.right, y1: height - margin.bottom, y2: height - margin.bottom }),
      svg('text', { x: width - margin.right, y: height - 4, 'text-anchor': 'end', text: 'step' }));
    series.forEach((line, index) => {
      const colour = seriesColours[index % seriesColours.length];
      const path = line.points.map(([px, py], i) => `${i ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join('');
      chart.append(svg('path', { class: 'series', d: path, stroke: colour, 'stroke-dasharray': seriesDashes[index % seriesDashes.length] || null }));
      // Sparse series (evaluations) also get markers, so a single evaluation is visible.
      if (line.points.length <= 60) {
        for (const [px, py] of line.points) {
          chart.append(svg('circle', { cx: x(px), cy: y(py), r: 3, fill: colour },
            svg('title', { text: `${line.name} at step ${px}: ${formatNumber(py)}` })));
        }
      }
    });
    const legend = el('div', { class: 'legend' }, series.map((line, index) => el('span', {},
      svg('svg', { width: 24, height: 10, 'aria-hidden': 'true' }, svg('line', { x1: 0, x2: 24, y1: 5, y2: 5,
        stroke: seriesColours[index % seriesColours.length], 'stroke-width': 3, 'stroke-dasharray': seriesDashes[index % seriesDashes.length] || null })),
      ` ${line.name} (${line.points.length})`)));
    container.replaceChildren(chart, legend);
  }

  // Viridis (perceptually uniform, readable in greyscale and with colour-vision deficiencies), 0 → 1.
  const viridisStops = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725']
    .map((hex) => [1, 3, 5].map((offset) => parseInt(hex.slice(offset, offset + 2), 16)));

  function viridis(value) {
    const t = Math.min(1, Math.max(0, value)) * (viridisStops.length - 1);
    const low = Math.floor(t);
    const high = Math.min(low + 1, viridisStops.length - 1);
    const mix = viridisStops[low].map((channel, index) => Math.round(channel + (viridisStops[high][index] - channel) * (t - low)));
    return `rgb(${mix.join(',')})`;
  }

  // The gate heatmap with its step slider; returns a function that redraws it from all gate steps so far.
  // The slider is made once (a redraw must not take it from under a dragging pointer or the keyboard) and
  // follows the newest evaluation until the user moves it.
  function gateHeatmap(container) {
    let pinned = null;
    let steps = [];
    const map = el('div', { class: 'heatmap-box' });
    const label = el('label', { for: 'gate-step' });
    const position = el('span', { class: 'muted' });
    const slider = el('input', { type: 'range', min: 0, max: 0, value: 0, id: 'gate-step', 'aria-label': 'Evaluation step of the gate values' });
    const body = [map, el('div', { class: 'slider' }, label, slider, position),
      el('div', { class: 'legend' }, '0', el('span', { class: 'gradient', role: 'img', 'aria-label': 'viridis scale from 0 to 1' }), '1')];
    const drawStep = () => {
      const index = pinned === null ? steps.length - 1 : Math.min(pinned, steps.length - 1);
      const current = steps[index];
      slider.max = String(steps.length - 1);
      slider.value = String(index);
      slider.setAttribute('aria-valuetext', `step ${current.step}`);
      label.textContent = `Step ${current.step}`;
      position.textContent = `evaluation ${index + 1} of ${steps.length}`;
      const known = ['A', 'P', 'Lq', 'Lv'];
      const modules = [...new Set(steps.flatMap((step) => step.values.map((value) => value.module)))]
        .sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99));
      const layers = [...new Set(steps.flatMap((step) => step.values.map((value) => value.layer)))].sort((a, b) => a - b);
      const cellWidth = 64;
      const cellHeight = 24;
      const left = 64;
      const top = 22;
      const chart = svg('svg', { class: 'chart heatmap', viewBox: `0 0 ${left + modules.length * cellWidth + 4} ${top + layers.length * cellHeight + 4}`,
        role: 'img', 'aria-label': `gate values at step ${current.step}` });
      modules.forEach((module, column) => chart.append(svg('text', { x: left + column * cellWidth + cellWidth / 2, y: 15, 'text-anchor': 'middle', text: module })));
      layers.forEach((layer, row) => chart.append(svg('text', { x: left - 6, y: top + row * cellHeight + 16, 'text-anchor': 'end', text: `layer ${layer}` })));
      for (const gate of current.values) {
        const column = modules.indexOf(gate.module);
        const row = layers.indexOf(gate.layer);
        chart.append(svg('rect', { class: 'gate-cell', x: left + column * cellWidth + 1, y: top + row * cellHeight + 1,
          width: cellWidth - 2, height: cellHeight - 2, fill: viridis(gate.value), 'data-value': gate.value },
        svg('title', { text: `layer ${gate.layer}, ${gate.module}: ${formatNumber(gate.value)}` })),
        svg('text', { class: gate.value < 0.4 ? 'value on-dark' : 'value', x: left + column * cellWidth + cellWidth / 2,
          y: top + row * cellHeight + 16, 'text-anchor': 'middle', text: gate.value.toFixed(3) }));
      }
      update(map, chart);
    };
    slider.addEventListener('input', () => {
      pinned = Number(slider.value) === steps.length - 1 ? null : Number(slider.value);
      drawStep();
    });
    return (gateSteps, job) => {
      if (gateSteps.length === 0) {
        // Only the gated UniPELT methods record gates (not finetune, bitfit, a single submodule, or -nogate).
        const gated = /^unipelt-/.test(job.method) && !/-nogate$/.test(job.method);
        update(container, el('p', { class: 'muted', text: terminalJob.has(job.status) || !gated
          ? 'This job recorded no gate values (its method has no gates).' : 'No evaluation yet.' }));
        return;
      }
      steps = gateSteps;
      if (container.firstChild !== map) container.replaceChildren(...body);
      drawStep();
    };
  }

  document.getElementById('forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showForgetButton();
  });
  window.addEventListener('hashchange', route);
  showForgetButton();
  route();
})();
