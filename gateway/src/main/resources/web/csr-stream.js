// csr-stream.js — browser client for the CSR live-update stream (Contract 3).
// The stream is read with fetch, not EventSource, so the token travels in the Authorization header and never in a URL
// (URLs land in browser history and in proxy and access logs). The text/event-stream body is parsed here as the HTML
// standard's EventSource parses it (fields data/event/id/retry, comments, CRLF/LF/CR line ends), and reconnecting is
// done here as EventSource does it: after the server's `retry`, with a `Last-Event-ID` header, so the server replays
// what was missed. Every (re)connect asks getToken() again, so an expired token is replaced without loss. A refusal
// (401, 429, 503, …) is retried with exponential backoff (or the server's Retry-After). A `reset` event means history
// could not cover the gap: repaint from the snapshot, then keep applying live updates (absolute values and versions).
(function (global) {
  'use strict';

  const TYPES = ['metric_updated', 'sroi_updated', 'vis_updated', 'journey_flag_updated'];
  const MAX_BACKOFF_MS = 30000;

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
      this.versions = new Map(); // key -> highest version applied: an update at or below it is older or already shown
      this.closed = false;
      this.retryMs = 3000; // the server's `retry:` replaces it
      this.backoffMs = 1000;
      this.abort = null;
      this.timer = null;
    }

    async snapshot() {
      const token = await this.opts.getToken();
      const res = await fetch(`${this.base}/stream/snapshot?companyId=${encodeURIComponent(this.opts.companyId)}`,
        { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (!res.ok) throw new Error(`snapshot: HTTP ${res.status} ${await res.text()}`);
      const snap = await res.json();
      // the snapshot's lastEventId was taken before it was read: resuming from it misses nothing
      if (!this.lastEventId && snap.lastEventId) this.lastEventId = snap.lastEventId;
      return snap;
    }

    /** Opens the stream and keeps it open (reconnecting) until close(). */
    async start() {
      if (this.closed) return;
      this.timer = null;
      this.state('connecting');
      const abort = new AbortController();
      this.abort = abort;
      let res;
      try {
        const token = await this.opts.getToken();
        const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
        if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
        res = await fetch(`${this.base}/stream/updates?companyId=${encodeURIComponent(this.opts.companyId)}`,
          { headers, cache: 'no-store', signal: abort.signal });
      } catch (e) {
        this.reconnect(this.nextBackoff(), e.message);
        return;
      }
      if (!res.ok || !res.body) {
        const body = await res.json().catch(() => ({}));
        const retryAfter = Number(res.headers.get('Retry-After'));
        // e.g. 401 after the token expired: getToken() is asked again on the next attempt
        this.reconnect(retryAfter > 0 ? retryAfter * 1000 : this.nextBackoff(), `HTTP ${res.status} ${body.error || ''}`.trim());
        return;
      }
      this.backoffMs = 1000;
      this.state('live');
      let ended = 'stream ended';
      try {
        await this.read(res.body.getReader());
      } catch (e) {
        ended = e.message; // the connection dropped (or close() aborted it)
      }
      this.reconnect(this.retryMs, ended);
    }

    nextBackoff() {
      const ms = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      return ms;
    }

    reconnect(ms, why) {
      if (this.closed) return;
      this.state('reconnecting', `${why}; retry in ${ms} ms`);
      this.timer = setTimeout(() => this.start(), ms);
    }

    /** Parses the event stream until it ends, dispatching each complete event. */
    async read(reader) {
      const decoder = new TextDecoder('utf-8');
      let buf = '';
      let event = { data: [], type: '', id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        for (;;) {
          const m = /\r\n|\r|\n/.exec(buf);
          if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break; // a CR may be the first half of a CRLF
          const line = buf.slice(0, m.index);
          buf = buf.slice(m.index + m[0].length);
          if (line === '') {
            this.dispatch(event);
            event = { data: [], type: '', id: null };
          } else if (line[0] !== ':') { // ':' starts a comment (heartbeat)
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let v = colon < 0 ? '' : line.slice(colon + 1);
            if (v[0] === ' ') v = v.slice(1);
            if (field === 'data') event.data.push(v);
            else if (field === 'event') event.type = v;
            else if (field === 'id' && !v.includes('\0')) event.id = v;
            else if (field === 'retry' && /^\d+$/.test(v)) this.retryMs = Number(v);
          }
        }
      }
    }

    dispatch(event) {
      if (event.id !== null) this.lastEventId = event.id || null;
      if (event.data.length === 0) return;
      const e = { data: event.data.join('\n'), lastEventId: this.lastEventId };
      const type = event.type || 'message';
      if (TYPES.includes(type)) {
        this.apply(type, e);
      } else if (type === 'reset') {
        this.versions.clear();
        if (this.opts.onReset) this.opts.onReset(e.data);
      }
      // `close`: the server ends the stream on purpose (token expired, shutdown, idle): read() returns and we reconnect
    }

    apply(type, e) {
      let data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data === null || typeof data !== 'object') return;
      if (data.version !== undefined) {
        // metric windows: versioned per (metric, window, windowStart); journey flags: per flag
        const key = type === 'journey_flag_updated'
          ? `journey|${data.companyId}|${data.flag}`
          : `${data.companyId}|${data.metric}|${data.window}|${data.windowStart}`;
        const seen = this.versions.get(key);
        // one version is one value (the job's UpdateVersion): an equal one is the same update again, e.g. in both the
        // snapshot and the stream after it; a lower one is older than what is shown
        if (seen !== undefined && seen >= data.version) return;
        this.versions.set(key, data.version);
      }
      this.opts.onUpdate(type, data, e.lastEventId);
    }

    state(s, detail) {
      if (this.opts.onState) this.opts.onState(s, detail);
    }

    close() {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      if (this.abort) this.abort.abort();
      this.state('closed');
    }
  }

  global.CsrStream = CsrStream;
})(typeof window !== 'undefined' ? window : globalThis);
