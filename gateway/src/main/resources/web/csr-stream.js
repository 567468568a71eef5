// csr-stream.js — browser client for the CSR live-update stream (Contract 3).
// EventSource cannot set headers, so the token travels as access_token. The browser's own reconnect resends
// Last-Event-ID; when the server closes for good (token expired, evicted, 401) we reconnect ourselves with a
// fresh token and ?lastEventId so nothing is missed. A `reset` event means history could not cover the gap:
// repaint from the snapshot, then keep applying live updates (they carry absolute values and versions).
(function (global) {
  'use strict';

  const TYPES = ['metric_updated', 'sroi_updated', 'vis_updated', 'journey_flag_updated'];

  class CsrStream {
    /**
     * @param {object} opts
     * @param {string} [opts.baseUrl]        gateway origin, default: this page's origin
     * @param {string} opts.companyId
     * @param {() => Promise<string>} opts.getToken  returns a valid JWT (called on every (re)connect)
     * @param {(type: string, data: object, id: string) => void} opts.onUpdate
     * @param {(reason: string) => void} [opts.onReset]
     * @param {(state: string, detail?: string) => void} [opts.onState]
     */
    constructor(opts) {
      this.opts = opts;
      this.base = opts.baseUrl || global.location.origin;
      this.lastEventId = null;
      this.versions = new Map(); // key -> highest version applied, to drop stale repeats
      this.closed = false;
      this.backoffMs = 1000;
    }

    async snapshot() {
      const token = await this.opts.getToken();
      const res = await fetch(`${this.base}/stream/snapshot?companyId=${encodeURIComponent(this.opts.companyId)}`,
        { headers: { Authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`snapshot: HTTP ${res.status} ${await res.text()}`);
      const snap = await res.json();
      // the snapshot's lastEventId was taken before it was read: resuming from it misses nothing
      if (!this.lastEventId && snap.lastEventId) this.lastEventId = snap.lastEventId;
      return snap;
    }

    async start() {
      if (this.closed) return;
      const token = await this.opts.getToken();
      const params = new URLSearchParams({ companyId: this.opts.companyId, access_token: token });
      if (this.lastEventId) params.set('lastEventId', this.lastEventId);
      const es = new EventSource(`${this.base}/stream/updates?${params}`);
      this.es = es;
      this.state('connecting');
      es.onopen = () => { this.backoffMs = 1000; this.state('live'); };
      for (const type of TYPES) {
        es.addEventListener(type, (e) => this.apply(type, e));
      }
      es.addEventListener('reset', (e) => {
        if (e.lastEventId) this.lastEventId = e.lastEventId;
        this.versions.clear();
        if (this.opts.onReset) this.opts.onReset(e.data);
      });
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) {
          // the server refused or ended the stream for good (e.g. token expired): reconnect with a fresh token
          this.state('reconnecting', `retry in ${this.backoffMs} ms`);
          setTimeout(() => this.start(), this.backoffMs);
          this.backoffMs = Math.min(this.backoffMs * 2, 30000);
        } else {
          this.state('reconnecting'); // the browser retries by itself with Last-Event-ID
        }
      };
    }

    apply(type, e) {
      this.lastEventId = e.lastEventId || this.lastEventId;
      let data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data.version !== undefined) {
        // metric windows: versioned per (metric, window, windowStart); journey flags: per flag
        const key = type === 'journey_flag_updated'
          ? `journey|${data.companyId}|${data.flag}`
          : `${data.companyId}|${data.metric}|${data.window}|${data.windowStart}`;
        const seen = this.versions.get(key);
        if (seen !== undefined && seen >= data.version) return; // stale or repeated firing
        this.versions.set(key, data.version);
      }
      this.opts.onUpdate(type, data, e.lastEventId);
    }

    state(s, detail) {
      if (this.opts.onState) this.opts.onState(s, detail);
    }

    close() {
      this.closed = true;
      if (this.es) this.es.close();
      this.state('closed');
    }
  }

  global.CsrStream = CsrStream;
})(typeof window !== 'undefined' ? window : globalThis);
