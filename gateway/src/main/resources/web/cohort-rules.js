// cohort-rules.js — the rule form of the cohort workspace: condition rows <-> a rule of docs/analytics.md ("Rule
// cohorts"). Every value is put into the page as text or as a form value, never as HTML.
(function (global) {
  'use strict';

  const KINDS = [
    ['programme', 'programme is one of'], ['languageGroup', 'language group is one of'], ['outcome', 'outcome is one of'],
    ['enrolledOn', 'enrolled between'], ['leftOn', 'left between'], ['flag', 'journey flag'],
    ['metric', 'metric over the last days'], ['active', 'active in the last days'],
  ];
  const LABELS = { from: 'from', to: 'to' };

  function labelled(text, control) {
    const l = document.createElement('label');
    l.append(text + ' ', control);
    return l;
  }
  function input(type, cls, value, size) {
    const i = document.createElement('input');
    i.type = type; i.className = cls;
    if (value !== undefined && value !== null) i.value = String(value);
    if (size) i.size = size;
    return i;
  }
  function select(cls, options, value) {
    const s = document.createElement('select');
    s.className = cls;
    options.forEach(([v, text]) => s.append(new Option(text, v)));
    if (value !== undefined && value !== null) s.value = String(value);
    return s;
  }

  /** One condition row; `leaf` (optional) fills it, `negated` ticks "not". */
  function row(leaf, negated, onChange) {
    const div = document.createElement('div');
    div.className = 'condition';
    const not = input('checkbox', 'c-not');
    not.checked = !!negated;
    const kind = select('c-kind', KINDS, leaf ? kindOf(leaf) : 'programme');
    const fields = document.createElement('span');
    fields.className = 'c-fields';
    const remove = document.createElement('button');
    remove.type = 'button'; remove.className = 'secondary c-remove'; remove.textContent = 'Remove';
    remove.addEventListener('click', () => { div.remove(); onChange(); });
    function fill(l) {
      const k = kind.value;
      const parts = [];
      if (k === 'programme' || k === 'languageGroup' || k === 'outcome') {
        const values = l && l.in ? l.in.map((v) => (v === null ? '(none)' : v)).join(', ') : '';
        parts.push(labelled('values (comma-separated; (none) for missing)', input('text', 'c-values', values, 28)));
      } else if (k === 'enrolledOn' || k === 'leftOn') {
        parts.push(labelled(LABELS.from, input('date', 'c-from', l && l.from)), labelled(LABELS.to, input('date', 'c-to', l && l.to)));
      } else if (k === 'flag') {
        parts.push(labelled('flag', input('text', 'c-flag', l ? l.flag : 'at_risk', 14)),
          labelled('state', select('c-state', [['set', 'set now'], ['ever', 'ever set']], l && l.state)));
      } else if (k === 'metric') {
        parts.push(labelled('metric', input('text', 'c-metric', l ? l.metric : 'sroi', 10)),
          labelled('aggregate', select('c-agg', [['avg', 'avg'], ['min', 'min'], ['max', 'max'], ['count', 'count']], l && l.agg)),
          labelled('days', input('number', 'c-days', l ? l.days : 30, 4)),
          labelled('is', select('c-op', [['>=', '>='], ['>', '>'], ['<=', '<='], ['<', '<'], ['=', '=']], l && l.op)),
          labelled('value', input('number', 'c-value', l ? l.value : 0, 6)));
      } else {
        parts.push(labelled('days', input('number', 'c-days', l && l.active ? l.active.days : 14, 4)));
      }
      fields.replaceChildren(...parts);
      fields.querySelectorAll('input,select').forEach((e) => { e.addEventListener('input', onChange); e.addEventListener('change', onChange); });
    }
    kind.addEventListener('change', () => { fill(null); onChange(); });
    not.addEventListener('change', onChange);
    fill(leaf);
    div.append(labelled('not', not), labelled('condition', kind), fields, remove);
    return div;
  }

  function kindOf(leaf) {
    if (leaf.attr) return leaf.attr;
    if (leaf.flag) return 'flag';
    if (leaf.metric) return 'metric';
    return 'active';
  }

  /** The leaf a row describes. */
  function leafOf(div) {
    const q = (c) => div.querySelector('.' + c);
    const k = q('c-kind').value;
    let leaf;
    if (k === 'programme' || k === 'languageGroup' || k === 'outcome') {
      const values = q('c-values').value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (s === '(none)' ? null : s));
      leaf = { attr: k, in: values };
    } else if (k === 'enrolledOn' || k === 'leftOn') {
      leaf = { attr: k };
      if (q('c-from').value) leaf.from = q('c-from').value;
      if (q('c-to').value) leaf.to = q('c-to').value;
    } else if (k === 'flag') {
      leaf = { flag: q('c-flag').value.trim(), state: q('c-state').value };
    } else if (k === 'metric') {
      leaf = { metric: q('c-metric').value.trim(), agg: q('c-agg').value, days: Number(q('c-days').value), op: q('c-op').value, value: Number(q('c-value').value) };
    } else {
      leaf = { active: { days: Number(q('c-days').value) } };
    }
    return q('c-not').checked ? { not: leaf } : leaf;
  }

  /** The rule of the rows combined with `combine` (all/any); a single row stands alone. Null without rows. */
  function build(container, combine) {
    const leaves = [...container.querySelectorAll('.condition')].map(leafOf);
    if (leaves.length === 0) return null;
    if (leaves.length === 1) return leaves[0];
    return { [combine]: leaves };
  }

  function isLeaf(r) {
    return r && typeof r === 'object' && (r.attr || r.flag || r.metric || r.active);
  }

  /** Rows for a rule when the form can show it ({all|any:[leaf | {not:leaf}]} or one such); else null. */
  function rowsOf(rule) {
    const one = (r) => (isLeaf(r) ? { leaf: r, negated: false } : r && isLeaf(r.not) ? { leaf: r.not, negated: true } : null);
    if (one(rule)) return { combine: 'all', items: [one(rule)] };
    const combine = rule && rule.all ? 'all' : rule && rule.any ? 'any' : null;
    if (!combine || !Array.isArray(rule[combine])) return null;
    const items = rule[combine].map(one);
    return items.every(Boolean) ? { combine, items } : null;
  }

  global.CohortRules = { row, build, rowsOf };
})(window);
