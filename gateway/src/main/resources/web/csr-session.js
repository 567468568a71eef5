// csr-session.js — the token and the companies of the gateway's own pages (index.html, cohorts.html).
// The token never travels in a URL the server sees: a link may carry it in the fragment (#token=…, which browsers do
// not send), the page moves it to sessionStorage (this tab only) and removes it from the address bar and history.
// What the token grants is asked from the server (GET /auth/me), never decoded here: an unverified token's claims are
// the holder's say-so. Everything shown is set as text (textContent, new Option), never parsed as HTML.
(function (global) {
  'use strict';

  const KEY = 'csr.token';

  /** The page's parameters: query and fragment (the fragment wins); the token is taken out of the fragment. */
  function pageParams() {
    const params = new URLSearchParams(global.location.search);
    const fragment = new URLSearchParams(global.location.hash.replace(/^#/, ''));
    fragment.forEach((v, k) => params.set(k, v));
    const token = fragment.get('token');
    if (token) {
      global.sessionStorage.setItem(KEY, token);
      fragment.delete('token');
      const rest = fragment.toString();
      global.history.replaceState(null, '', global.location.pathname + global.location.search + (rest ? '#' + rest : ''));
    }
    params.delete('token');
    return params;
  }

  function storedToken() {
    return global.sessionStorage.getItem(KEY) || '';
  }

  function rememberToken(token) {
    if (token) global.sessionStorage.setItem(KEY, token);
    else global.sessionStorage.removeItem(KEY);
  }

  /** {subject, companies, roles, expiresAt} of a token the server verified; throws with the server's message. */
  async function whoAmI(token) {
    const res = await fetch('/auth/me', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`token refused (${res.status} ${body.error || ''}): ${body.message || ''}`);
    return body;
  }

  /** Fills a <select> with the verified companies of the token; `wanted` is selected when granted. */
  async function fillCompanies(select, token, wanted) {
    select.replaceChildren();
    if (!token) return [];
    const me = await whoAmI(token);
    const companies = Array.isArray(me.companies) ? me.companies.map(String) : [];
    select.replaceChildren(...companies.map((c) => new Option(c, c)));
    if (wanted && companies.includes(wanted)) select.value = wanted;
    return companies;
  }

  global.CsrSession = { pageParams, storedToken, rememberToken, whoAmI, fillCompanies };
})(window);
