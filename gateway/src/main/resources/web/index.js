// index.js — the live dashboard (index.html). Everything that comes from a token or an event is set as text
// (textContent, DOM nodes), never as HTML: a journey event's userId is any producer string.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const params = CsrSession.pageParams(); // #token=…&companyId=… (the token moves to sessionStorage)
  $('token').value = CsrSession.storedToken();
  let stream = null;
  const recent = new Map(); // metric -> its 1-minute windows of the last hour [{windowStart, avg}], oldest first
  const SPARK_MINUTES = 60;
  let detailMetric = null; // the metric of the larger chart, when open

  function log(msg) {
    const l = $('log');
    l.textContent = `${new Date().toISOString().slice(11, 23)} ${msg}\n` + l.textContent.slice(0, 4000);
  }
  function state(s, detail) {
    $('state').textContent = s + (detail ? ` (${detail})` : '');
    $('state').className = s;
  }

  /** The companies the server says the token grants (not what the token claims): text options only. */
  async function fillCompanies() {
    const token = $('token').value.trim();
    CsrSession.rememberToken(token);
    try {
      await CsrSession.fillCompanies($('company'), token, params.get('companyId') || $('company').value);
    } catch (e) {
      $('company').replaceChildren();
      state('disconnected', e.message);
      log(e.message);
    }
    // the token stays in this tab's sessionStorage; the link carries only the company
    $('cohorts-link').href = 'cohorts.html#companyId=' + encodeURIComponent($('company').value);
  }
  $('token').addEventListener('change', fillCompanies);

  function fmt(v) {
    if (v === undefined || v === null) return '–';
    const n = Number(v);
    return Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2)) : String(v);
  }
  function spans(row, ...texts) {
    row.replaceChildren(...texts.map((t) => {
      const s = document.createElement('span');
      s.textContent = t;
      return s;
    }));
  }
  function card(id, title) {
    let el = document.getElementById(id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'card';
      el.id = id;
      const h = document.createElement('h2');
      h.textContent = title;
      const big = document.createElement('div');
      big.className = 'big';
      big.textContent = '–';
      const row1 = document.createElement('div');
      row1.className = 'row';
      const row2 = document.createElement('div');
      row2.className = 'row';
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('aria-hidden', 'true');
      el.append(h, big, row1, row2, svg);
      $('cards').insertBefore(el, $('log'));
    }
    el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
    return el;
  }
  function paintMetric(d) {
    if (typeof d.metric !== 'string') return;
    if (d.window === '1m') addPoint(d.metric, String(d.windowStart), Number(d.avg));
    if (d.window !== $('window').value) {
      const existing = document.getElementById(`m-${d.metric}`);
      if (existing) sparkline(existing.children[4], d.metric);
      return;
    }
    const el = card(`m-${d.metric}`, d.metric.replace(/_/g, ' '));
    if (!el.querySelector('button.chart')) {
      const open = document.createElement('button');
      open.type = 'button'; open.className = 'chart'; open.textContent = 'Chart';
      open.setAttribute('aria-label', `larger chart of ${d.metric}`);
      open.addEventListener('click', () => openDetail(d.metric));
      el.append(open);
    }
    el.children[1].textContent = fmt(d.avg);
    spans(el.children[2], `n=${d.count}`, `p50 ${fmt(d.p50)}`, `p95 ${fmt(d.p95)}`);
    spans(el.children[3], `${String(d.windowStart).slice(11, 16)}Z`, `v${d.version}${d.final ? ' final' : ''}`);
    sparkline(el.children[4], d.metric);
  }
  /**
   * A 1-minute window of a metric (a repeat of a window replaces it: values are absolute); the history keeps the last
   * SPARK_MINUTES minutes before the newest window.
   */
  function addPoint(metric, windowStart, avg) {
    const h = recent.get(metric) || [];
    const i = h.findIndex((p) => p.windowStart === windowStart);
    if (i >= 0) h[i] = { windowStart, avg };
    else { h.push({ windowStart, avg }); h.sort((a, b) => (a.windowStart < b.windowStart ? -1 : 1)); }
    const newest = Date.parse(h[h.length - 1].windowStart);
    while (h.length && Date.parse(h[0].windowStart) <= newest - SPARK_MINUTES * 60e3) h.shift();
    recent.set(metric, h);
    if (metric === detailMetric) drawDetail();
  }
  function points(h, w, ht, pad) {
    const max = Math.max(...h.map((p) => p.avg)), min = Math.min(...h.map((p) => p.avg));
    return h.map((p, k) => `${pad + (h.length === 1 ? (w - 2 * pad) / 2 : (k * (w - 2 * pad)) / (h.length - 1))},`
      + `${ht - pad - ((p.avg - min) / Math.max(1e-9, max - min)) * (ht - 2 * pad)}`);
  }
  function polyline(pts, width) {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', '#38bdf8');
    line.setAttribute('stroke-width', width);
    line.setAttribute('points', pts.join(' '));
    return line;
  }
  /** The metric's last hour of minute windows as a polyline. */
  function sparkline(svg, metric) {
    const h = recent.get(metric) || [];
    svg.dataset.points = String(h.length);
    if (!h.length) { svg.replaceChildren(); return; }
    svg.replaceChildren(polyline(points(h, svg.clientWidth || 200, 28, 2), '1.5'));
  }
  function openDetail(metric) {
    detailMetric = metric;
    $('detail').hidden = false;
    $('detail-title').textContent = `${metric.replace(/_/g, ' ')}: average per minute, last ${SPARK_MINUTES} minutes`;
    drawDetail();
  }
  /** The larger chart: the same minute windows with the value range and the first and last minute labelled. */
  function drawDetail() {
    const svg = $('detail-chart');
    const h = recent.get(detailMetric) || [];
    svg.dataset.points = String(h.length);
    svg.dataset.metric = detailMetric;
    const text = (x, y, t, anchor) => {
      const e = document.createElementNS(SVG, 'text');
      e.setAttribute('x', x); e.setAttribute('y', y); e.setAttribute('text-anchor', anchor || 'start');
      e.textContent = t;
      return e;
    };
    if (!h.length) { svg.replaceChildren(text(10, 20, 'no minute windows yet')); return; }
    const w = svg.clientWidth || 600, ht = 220, pad = 30;
    const max = Math.max(...h.map((p) => p.avg)), min = Math.min(...h.map((p) => p.avg));
    svg.replaceChildren(polyline(points(h, w, ht, pad), '2'), text(2, pad, fmt(max)), text(2, ht - pad, fmt(min)),
      text(pad, ht - 8, h[0].windowStart.slice(11, 16) + 'Z'), text(w - pad, ht - 8, h[h.length - 1].windowStart.slice(11, 16) + 'Z', 'end'));
  }
  $('detail-close').addEventListener('click', () => { detailMetric = null; $('detail').hidden = true; });
  function paintJourney(d) {
    if (typeof d.flag !== 'string') return;
    const el = card(`j-${d.flag}`, `journey: ${d.flag.replace(/_/g, ' ')}`);
    el.children[1].textContent = String(d.usersFlagged);
    spans(el.children[2], 'users flagged');
    spans(el.children[3], `${d.userId || ''} → ${d.value}`);
  }
  async function paintSnapshot() {
    try {
      const snap = await stream.snapshot();
      Object.entries(snap.history || {}).forEach(([metric, pts]) => pts.forEach((p) => addPoint(metric, p.windowStart, Number(p.avg))));
      (snap.metrics || []).forEach(paintMetric);
      (snap.journeys || []).forEach(paintJourney);
      log(`snapshot painted (${(snap.metrics || []).length} metric windows)`);
    } catch (e) { log(e.message); }
  }

  async function connect() {
    if (stream) stream.close();
    const token = $('token').value.trim();
    if (!token) { log('paste a token first: bin/csr token --company acme'); return; }
    if (!$('company').value) await fillCompanies();
    if (!$('company').value) return; // the server refused the token: fillCompanies said why
    stream = new CsrStream({
      companyId: $('company').value,
      getToken: async () => $('token').value.trim(),
      onUpdate: (type, d) => (type === 'journey_flag_updated' ? paintJourney(d) : paintMetric(d)),
      onReset: (reason) => { log(`reset: ${reason}; repainting from snapshot`); paintSnapshot(); },
      onState: state,
    });
    window.csrStream = stream; // for tests and the console
    await paintSnapshot();
    stream.start();
  }
  $('connect').addEventListener('click', connect);

  // ---- analytics views (PostgreSQL, refreshed on a schedule): plain fetches, text only (names are user data)
  function rows(tbodyParent, list) {
    const body = tbodyParent.querySelector('tbody');
    body.replaceChildren(...list.map((cells) => {
      const tr = document.createElement('tr');
      cells.forEach((c, i) => { const td = document.createElement(i === 0 ? 'th' : 'td'); if (i === 0) td.scope = 'row'; td.textContent = c; tr.appendChild(td); });
      return tr;
    }));
  }
  async function loadAnalytics() {
    const token = $('token').value.trim();
    if (!token) { $('analytics-state').textContent = 'paste a token first'; return; }
    if (!$('company').value) await fillCompanies();
    const q = `?companyId=${encodeURIComponent($('company').value)}`;
    const get = async (path) => {
      const res = await fetch(path + q, { headers: { Authorization: `Bearer ${token}` } });
      const body = await res.json();
      if (!res.ok) throw new Error(`${path}: ${body.message || res.status}`);
      return body;
    };
    try {
      const [c, p, l, j] = await Promise.all(['/analytics/company', '/analytics/programmes', '/analytics/language-groups',
        '/analytics/journey-stages'].map(get));
      rows($('a-company'), [['participants', c.participants], ['active 7d / 30d', `${c.activeParticipants7d} / ${c.activeParticipants30d}`],
        ['events 7d / 30d', `${c.events7d} / ${c.events30d}`], ['cohorts (members)', `${c.cohorts} (${c.cohortMembers})`],
        ...c.metrics.map((m) => [m.metric, `latest ${fmt(m.latest)}, 30d avg ${fmt(m.avg30d)}`])]);
      rows($('a-programmes'), p.programmes.map((g) => [g.programme, g.participants, g.active, g.completed, g.droppedOut]));
      rows($('a-languages'), l.languageGroups.map((g) => [g.languageGroup, g.participants, g.active, g.completed, g.droppedOut]));
      rows($('a-journeys'), j.stages.map((s) => [s.flag, s.usersFlagged, s.usersCleared]));
      $('analytics-state').textContent = `refreshed ${c.refreshedAt || 'never'}`;
    } catch (e) { $('analytics-state').textContent = e.message; }
  }
  $('analytics-load').addEventListener('click', loadAnalytics);
  $('connect').addEventListener('click', loadAnalytics);

  if ($('token').value) fillCompanies().then(() => { if ($('company').value) $('connect').click(); });
  else fillCompanies();
})();
