// cohorts.js — the cohort workspace (cohorts.html): list, create (static or rule), edit, delete, compare with
// intervals, trend, top, CSV downloads. Names and ids are user data: set as text only (textContent, Option, form
// values). Viewers see the read-only parts; admins of the company also the editor and the row actions.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const params = CsrSession.pageParams(); // #token=…&companyId=…&cohortIds=… (the token moves to sessionStorage)
  const SVG = 'http://www.w3.org/2000/svg';
  const today = new Date().toISOString().slice(0, 10);
  $('endDate').value = params.get('endDate') || today;
  $('startDate').value = params.get('startDate') || new Date(Date.now() - 29 * 864e5).toISOString().slice(0, 10);
  if (params.get('metric')) $('metric').value = params.get('metric');
  $('token').value = CsrSession.storedToken();
  const cohorts = new Map(); // id -> {id, name, members, kind, rule}
  const shown = { compare: null, trend: null, top: null }; // what each chart shows, for its CSV
  let admin = false;
  let editing = null; // the cohort being edited, null for a new one

  function status(text, error) { $('status').textContent = text; $('status').classList.toggle('error', !!error); }
  /** The companies the server says the token grants (not what the token claims), and whether it is an admin. */
  async function fillCompanies() {
    const token = $('token').value.trim();
    CsrSession.rememberToken(token);
    try {
      await CsrSession.fillCompanies($('company'), token, params.get('companyId') || $('company').value);
      const me = token ? await CsrSession.whoAmI(token) : { roles: [] };
      setAdmin(Array.isArray(me.roles) && me.roles.includes('admin'));
    } catch (e) {
      $('company').replaceChildren();
      status(e.message, true);
    }
    // the token stays in this tab's sessionStorage; the link carries only the company
    $('live-link').href = 'index.html#companyId=' + encodeURIComponent($('company').value);
  }
  function setAdmin(yes) {
    admin = yes;
    document.querySelectorAll('.admin-only').forEach((e) => { e.hidden = !yes; });
    $('role-note').textContent = yes ? '' : 'Read-only: creating, editing and deleting cohorts needs an admin token of this company.';
    if (!yes) $('editor').hidden = true;
  }
  $('token').addEventListener('change', fillCompanies);
  /** The company every call acts for (a token of several companies must name it). */
  function company() { return encodeURIComponent($('company').value); }
  function fmt(v) { return v === undefined || v === null ? '–' : (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)); }

  /** What an error answer means for the person at the page. */
  function explain(res, json) {
    const c = $('company').value;
    switch (res.status) {
      case 401: return `Your token was refused (${json.error || '401'}): get a new one with bin/csr token.`;
      case 403: return `Not allowed: this needs an admin token of ${c}; yours can only read. (${json.message || json.error || '403'})`;
      case 404: return `Not found: that cohort was deleted or is not one of ${c}. Reload the list.`;
      case 409: return `Conflict: ${json.message || json.error}`;
      case 429: return `Too many requests for ${c} just now: try again in ${res.headers.get('Retry-After') || 'a few'} s.`;
      case 503: return `A store is unavailable (${json.error || '503'}): try again in ${res.headers.get('Retry-After') || 'a few'} s.`;
      default: return `${res.status} ${json.error || ''}: ${json.message || ''}`;
    }
  }
  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: Object.assign({ Authorization: 'Bearer ' + $('token').value.trim() }, body ? { 'Content-Type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) { const e = new Error(explain(res, json)); e.status = res.status; throw e; }
    return json;
  }
  const get = (path) => api('GET', path);
  function el(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }
  function button(text, cls, onClick) {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = text; if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
  }
  function nameOf(id) { return (cohorts.get(id) || { name: '#' + id }).name; }
  function selectedIds() {
    return [...$('cohort-table').querySelectorAll('input.pick:checked')].map((i) => Number(i.value));
  }
  function updateCompareButton() {
    const n = selectedIds().length;
    $('compare').disabled = n < 2 || n > 10;
  }

  // ------------------------------------------------------------------ list, delete
  async function loadCohorts() {
    try {
      const list = await get('/cohorts?companyId=' + company());
      const picked = new Set(selectedIds());
      cohorts.clear();
      const body = $('cohort-table').tBodies[0];
      body.replaceChildren();
      list.cohorts.forEach((c) => {
        cohorts.set(c.id, c);
        const row = body.insertRow();
        row.id = 'row-' + c.id;
        const box = document.createElement('input');
        box.type = 'checkbox'; box.value = c.id; box.id = 'cohort-' + c.id; box.className = 'pick';
        box.checked = picked.has(c.id);
        box.addEventListener('change', updateCompareButton);
        const label = document.createElement('label');
        label.append(box);
        label.setAttribute('aria-label', 'pick ' + c.name);
        row.insertCell().append(label);
        cell(row, c.name).title = c.description || '';
        cell(row, c.kind || 'static').className = 'kind';
        cell(row, String(c.members)).className = 'members';
        const actions = row.insertCell();
        actions.className = 'actions admin-only';
        actions.hidden = !admin;
        actions.append(button('Edit', 'secondary edit', () => openEditor(c)), ' ', button('Delete', 'danger delete', () => confirmDelete(c, actions)));
      });
      $('trend-cohort').replaceChildren(...list.cohorts.map((c) => new Option(c.name, c.id)));
      status(`${list.cohorts.length} cohorts`);
      updateCompareButton();
    } catch (e) { status(e.message, true); }
  }

  /** Delete asks in the row itself (no browser dialog): Delete → "Delete <name>? Yes / No". */
  function confirmDelete(c, actions) {
    const question = document.createElement('span');
    question.textContent = `Delete "${c.name}"? `;
    const keep = [...actions.childNodes];
    actions.replaceChildren(question, button('Yes, delete', 'danger confirm-delete', async () => {
      try {
        await api('DELETE', `/cohorts/${c.id}`);
        await loadCohorts();
        status(`deleted ${c.name}`);
      } catch (e) {
        await loadCohorts();
        status(e.message, true); // after the reload, so the reason stays on screen
      }
    }), ' ', button('No', 'secondary cancel-delete', () => actions.replaceChildren(...keep)));
  }

  // ------------------------------------------------------------------ editor
  function kind() { return $('ed-kind-rule').checked ? 'rule' : 'static'; }
  function showKind() {
    $('ed-static-part').hidden = kind() !== 'static';
    $('ed-rule-part').hidden = kind() !== 'rule';
    if (kind() === 'rule') rulesChanged();
  }
  function addCondition(leaf, negated) {
    $('ed-conditions').append(CohortRules.row(leaf, negated, rulesChanged));
  }
  /** The form changed: the JSON follows the rows, and the preview follows the rule (debounced). */
  function rulesChanged() {
    $('ed-rule-json').dataset.manual = '';
    const rule = CohortRules.build($('ed-conditions'), $('ed-combine').value);
    $('ed-rule-json').value = rule ? JSON.stringify(rule) : '';
    schedulePreview();
  }
  let previewTimer = null;
  let previewSeq = 0;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 350);
  }
  function currentRule() {
    const text = $('ed-rule-json').value.trim();
    if (!text) return null;
    return JSON.parse(text);
  }
  async function preview() {
    const seq = ++previewSeq;
    const out = $('ed-preview');
    let rule;
    try { rule = currentRule(); } catch (e) { out.textContent = 'The rule is not JSON: ' + e.message; out.classList.add('error'); return; }
    if (!rule) { out.textContent = 'Add a condition to see who matches.'; out.classList.remove('error'); return; }
    try {
      const res = await api('POST', '/cohorts/preview?companyId=' + company(), { rule });
      if (seq !== previewSeq) return; // a newer preview is on its way
      out.textContent = `${res.members} members now` + (res.sample.length ? ` (e.g. ${res.sample.slice(0, 5).join(', ')})` : '');
      out.dataset.members = String(res.members);
      out.classList.remove('error');
    } catch (e) {
      if (seq !== previewSeq) return;
      out.textContent = e.message;
      out.dataset.members = '';
      out.classList.add('error');
    }
  }
  function openEditor(c) {
    editing = c || null;
    $('h-editor').textContent = c ? `Edit "${c.name}"` : 'New cohort';
    $('ed-name').value = c ? c.name : '';
    $('ed-description').value = c ? c.description || '' : '';
    $('ed-ids').value = ''; $('ed-remove').value = ''; $('ed-csv').value = '';
    $('ed-remove-label').hidden = !c;
    $('ed-status').textContent = '';
    $('ed-preview').textContent = '';
    $('ed-conditions').replaceChildren();
    const isRule = c ? c.kind === 'rule' : false;
    $('ed-kind-rule').checked = isRule; $('ed-kind-static').checked = !isRule;
    if (isRule) {
      const rows = CohortRules.rowsOf(c.rule);
      if (rows) {
        $('ed-combine').value = rows.combine;
        rows.items.forEach((i) => addCondition(i.leaf, i.negated));
      }
      showKind();
      if (!rows) { $('ed-rule-json').value = JSON.stringify(c.rule); $('ed-rule-json').dataset.manual = '1'; schedulePreview(); }
    } else {
      showKind();
    }
    $('editor').hidden = false;
    $('ed-name').focus();
  }
  function ids(text) {
    return [...new Set(text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
  }
  /** User ids of a CSV: the first column of every line, a header cell "userId"/"user_id" skipped, quotes removed. */
  function csvIds(text) {
    return ids(text.split(/\r?\n/).map((line) => line.split(',')[0].trim().replace(/^"(.*)"$/, '$1'))
      .filter((v) => v && !/^user_?id$/i.test(v)).join('\n'));
  }
  async function save() {
    const out = $('ed-status');
    out.classList.remove('error');
    try {
      const name = $('ed-name').value.trim();
      const description = $('ed-description').value;
      if (kind() === 'rule') {
        let rule;
        try { rule = currentRule(); } catch (e) { throw new Error('The rule is not JSON: ' + e.message); }
        if (!rule) throw new Error('Add at least one condition.');
        if (editing) await api('PUT', `/cohorts/${editing.id}`, { name, description, rule });
        else await api('POST', '/cohorts?companyId=' + company(), { name, description, rule });
      } else {
        let add = ids($('ed-ids').value);
        const file = $('ed-csv').files[0];
        if (file) add = [...new Set(add.concat(csvIds(await file.text())))];
        const remove = ids($('ed-remove').value);
        let id;
        if (editing) {
          await api('PUT', `/cohorts/${editing.id}`, editing.kind === 'rule' ? { name, description, rule: null } : { name, description });
          id = editing.id;
        } else {
          id = (await api('POST', '/cohorts?companyId=' + company(), { name, description })).id;
        }
        for (let i = 0; i < Math.max(add.length, remove.length); i += 10000) { // the API takes 10,000 ids per call
          await api('PUT', `/cohorts/${id}/members`, { add: add.slice(i, i + 10000), remove: remove.slice(i, i + 10000) });
        }
      }
      out.textContent = 'saved';
      $('editor').hidden = true;
      status(`saved ${name}`);
      await loadCohorts();
    } catch (e) {
      out.textContent = e.message;
      out.classList.add('error');
    }
  }

  // ------------------------------------------------------------------ compare, trend, top
  async function compare() {
    try {
      const ids = selectedIds();
      const res = await api('POST', '/cohort/compare?companyId=' + company(), { cohortIds: ids, metric: $('metric').value.trim(), startDate: $('startDate').value, endDate: $('endDate').value });
      drawComparison(res.cohorts, res.differences || []);
      status(`compared ${ids.length} cohorts on ${res.metric}`);
    } catch (e) { status(e.message, true); }
  }

  /** Bars = avg; a whisker from p50 to p95 with ticks at both ends; the table adds the Welch intervals. */
  function drawComparison(rows, differences) {
    const svg = $('compare-chart');
    svg.replaceChildren();
    const w = svg.clientWidth || 600, h = 240, top = 10, bottom = 40, left = 40;
    const max = Math.max(1e-9, ...rows.map((r) => Math.max(r.avg || 0, r.p95 || 0)));
    const y = (v) => top + (h - top - bottom) * (1 - (v || 0) / max);
    const slot = (w - left) / Math.max(1, rows.length);
    svg.append(el('text', { x: 2, y: top + 8 }, fmt(max)), el('text', { x: 2, y: h - bottom }, '0'));
    rows.forEach((r, i) => {
      const x = left + i * slot + slot * 0.2, bw = slot * 0.6, cx = x + bw / 2;
      svg.append(el('rect', { x, y: y(r.avg), width: bw, height: h - bottom - y(r.avg), fill: '#38bdf8', 'data-cohort': r.cohortId }));
      if (r.p50 !== null && r.p95 !== null) {
        svg.append(el('line', { x1: cx, x2: cx, y1: y(r.p50), y2: y(r.p95), stroke: '#fbbf24', 'stroke-width': 2 }),
          el('line', { x1: cx - 6, x2: cx + 6, y1: y(r.p50), y2: y(r.p50), stroke: '#fbbf24', 'stroke-width': 2 }),
          el('line', { x1: cx - 6, x2: cx + 6, y1: y(r.p95), y2: y(r.p95), stroke: '#fbbf24', 'stroke-width': 2 }));
      }
      svg.append(el('text', { x: cx, y: h - bottom + 14, 'text-anchor': 'middle' }, nameOf(r.cohortId)),
        el('text', { x: cx, y: h - bottom + 28, 'text-anchor': 'middle' }, 'avg ' + fmt(r.avg)));
    });
    const byId = new Map(differences.map((d) => [d.cohortId, d]));
    const body = $('compare-table').tBodies[0];
    body.replaceChildren();
    const csv = [['cohortId', 'cohort', 'users', 'count', 'avg', 'p50', 'p95', 'differenceFromFirst', 'low95', 'high95', 'df']];
    rows.forEach((r) => {
      const row = body.insertRow();
      row.id = 'cmp-' + r.cohortId;
      cell(row, nameOf(r.cohortId));
      [r.users, r.count].forEach((v) => cell(row, String(v)));
      [r.avg, r.p50, r.p95].forEach((v) => cell(row, fmt(v)));
      const d = byId.get(r.cohortId);
      cell(row, d ? fmt(d.difference) : 'first');
      cell(row, d ? (d.low === null ? 'too few observations' : `${fmt(d.low)} … ${fmt(d.high)}`) : '');
      csv.push([r.cohortId, nameOf(r.cohortId), r.users, r.count, r.avg, r.p50, r.p95, d ? d.difference : '', d ? d.low : '', d ? d.high : '', d ? d.df : '']);
    });
    shown.compare = csv;
    $('compare-csv').disabled = false;
  }

  async function trend() {
    try {
      const id = $('trend-cohort').value;
      const q = new URLSearchParams({ companyId: $('company').value, metric: $('metric').value.trim(), interval: $('interval').value, startDate: $('startDate').value, endDate: $('endDate').value });
      const res = await get(`/cohort/${encodeURIComponent(id)}/trends?${q}`);
      drawTrend(res.points);
      shown.trend = [['cohortId', 'cohort', 'metric', 'interval', 'periodStart', 'count', 'avg', 'changePct']]
        .concat(res.points.map((p) => [res.cohortId, nameOf(res.cohortId), res.metric, res.interval, p.periodStart, p.count, p.avg, p.changePct]));
      $('trend-csv').disabled = false;
      status(`${res.points.length} ${res.interval} points`);
    } catch (e) { status(e.message, true); }
  }

  function drawTrend(points) {
    const svg = $('trend-chart');
    svg.replaceChildren();
    const w = svg.clientWidth || 600, h = 200, pad = 30;
    if (points.length) {
      const max = Math.max(...points.map((p) => p.avg)), min = Math.min(0, ...points.map((p) => p.avg));
      const x = (i) => pad + (w - 2 * pad) * (points.length === 1 ? 0.5 : i / (points.length - 1));
      const y = (v) => pad + (h - 2 * pad) * (1 - (v - min) / Math.max(1e-9, max - min));
      svg.append(el('polyline', { points: points.map((p, i) => `${x(i)},${y(p.avg)}`).join(' '), fill: 'none', stroke: '#4ade80', 'stroke-width': 2 }));
      points.forEach((p, i) => svg.append(el('circle', { cx: x(i), cy: y(p.avg), r: 3, fill: '#4ade80' }),
        el('text', { x: x(i), y: h - 8, 'text-anchor': 'middle' }, p.periodStart.slice(5))));
    }
    const body = $('trend-table').tBodies[0];
    body.replaceChildren();
    points.forEach((p) => {
      const row = body.insertRow();
      cell(row, p.periodStart); cell(row, String(p.count)); cell(row, fmt(p.avg));
      cell(row, p.changePct === null ? '–' : fmt(p.changePct));
    });
  }

  async function top() {
    try {
      const q = new URLSearchParams({ companyId: $('company').value, metric: $('metric').value.trim(), limit: '10', startDate: $('startDate').value, endDate: $('endDate').value });
      const res = await get(`/cohort/top?${q}`);
      const body = $('top-table').tBodies[0];
      body.replaceChildren();
      res.cohorts.forEach((c) => {
        const row = body.insertRow();
        cell(row, c.name === null ? '#' + c.cohortId : c.name); cell(row, String(c.users)); cell(row, String(c.count)); cell(row, fmt(c.avg));
      });
      shown.top = [['cohortId', 'cohort', 'metric', 'users', 'count', 'avg']].concat(res.cohorts.map((c) => [c.cohortId, c.name, res.metric, c.users, c.count, c.avg]));
      $('top-csv').disabled = false;
      status(`top ${res.cohorts.length} cohorts on ${res.metric}`);
    } catch (e) { status(e.message, true); }
  }

  // ------------------------------------------------------------------ CSV downloads
  /** RFC 4180 text; a cell starting with = + - @ gets a leading ' so a spreadsheet shows it instead of running it. */
  function csvText(rows) {
    const q = (v) => {
      let s = v === null || v === undefined ? '' : String(v);
      if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = "'" + s;
      return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    return rows.map((r) => r.map(q).join(',')).join('\r\n') + '\r\n';
  }
  function download(which) {
    const rows = shown[which];
    if (!rows) return;
    const text = csvText(rows);
    const a = document.createElement('a');
    a.id = which + '-download';
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    a.download = `cohort-${which}-${$('metric').value.trim()}-${$('startDate').value}-${$('endDate').value}.csv`;
    a.hidden = true;
    a.dataset.csv = text; // what was downloaded, for tests and the console
    const old = $(a.id);
    if (old) old.remove();
    document.body.append(a);
    a.click();
  }

  $('load').addEventListener('click', loadCohorts);
  $('compare').addEventListener('click', compare);
  $('trend').addEventListener('click', trend);
  $('top').addEventListener('click', top);
  ['compare', 'trend', 'top'].forEach((w) => $(w + '-csv').addEventListener('click', () => download(w)));
  $('new-cohort').addEventListener('click', () => openEditor(null));
  $('ed-cancel').addEventListener('click', () => { $('editor').hidden = true; });
  $('ed-save').addEventListener('click', save);
  $('ed-kind-static').addEventListener('change', showKind);
  $('ed-kind-rule').addEventListener('change', () => { if (!$('ed-conditions').children.length && !$('ed-rule-json').value) addCondition(null, false); showKind(); });
  $('ed-add-condition').addEventListener('click', () => { addCondition(null, false); rulesChanged(); });
  $('ed-combine').addEventListener('change', rulesChanged);
  $('ed-rule-json').addEventListener('input', () => { $('ed-rule-json').dataset.manual = '1'; schedulePreview(); });
  window.csrCohorts = { loadCohorts, compare, trend, top, openEditor, csvText }; // for tests and the console
  setAdmin(false);
  if (!$('token').value) fillCompanies();

  // #cohortIds=1,2 (with a token) loads, ticks those cohorts and compares: a shareable view, and the screenshot's
  if ($('token').value) {
    fillCompanies().then(async () => {
      if (!$('company').value) return; // the server refused the token: fillCompanies said why
      await loadCohorts();
      const wanted = (params.get('cohortIds') || '').split(',').filter(Boolean);
      wanted.forEach((id) => { const b = $('cohort-' + id); if (b) b.checked = true; });
      updateCompareButton();
      if (wanted.length >= 2) compare().then(() => { if (wanted[0]) { $('trend-cohort').value = wanted[0]; trend(); } });
    });
  }
})();
