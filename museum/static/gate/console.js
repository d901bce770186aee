/* Gate console: scan a code, show admit/refuse at once, keep working offline.
 *
 * Online, every scan goes to POST /api/v1/gate/scans (with a nonce). When the server does not answer
 * within SCAN_TIMEOUT_MS, or the network fails, the code is checked here: base32 (canonical spelling
 * only), the 19-byte payload, its Ed25519 signature (WebCrypto) against the bundle's public keys, then
 * the same rules as the server, using the bundle (revoked, admitted) plus this device's own admissions.
 * Offline scans are queued in localStorage with their nonce and uploaded by POST /api/v1/gate/sync
 * when the server is back (the nonce makes a repeated upload harmless).
 *
 * No build step, no dependencies: plain modern JavaScript.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("gate-config").textContent);
  const T = config.texts;
  const REASONS = config.reasons;
  const GATE = config.gate;

  const SCAN_TIMEOUT_MS = 1500;
  const BUNDLE_TIMEOUT_MS = 8000;
  const SYNC_TIMEOUT_MS = 10000;
  const BUNDLE_EVERY_MS = 60000;
  const PROBE_MIN_MS = 2000;
  const PROBE_MAX_MS = 10000;
  const SYNC_BACKOFF_MAX_MS = 60000;
  const SYNC_BATCH = 100;
  const HISTORY_MAX = 20;
  const PRESET_MAX = 30;
  const GROUP_CONTEXT_MS = 3 * 60 * 1000;
  const FULLSCREEN_MS = { admitted: 2500, refused: 5000 };
  const MAX_CODE = 200;

  const STORE = {
    bundle: `museum.gate.bundle.${GATE}`,
    queue: "museum.gate.queue",
    rejected: "museum.gate.rejected",
    local: "museum.gate.local",
    history: `museum.gate.history.${GATE}`,
    hours: `museum.gate.hours.${GATE}`,
  };

  // Ticket code format (museum/codes.py): base32 without padding of 19 signed bytes + 64-byte signature.
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const REFERENCE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY";
  const REFERENCE = /^[34679ACDEFGHJKMNPQRTUVWXY]{10}$/;
  const PAYLOAD_LEN = 19;
  const SIGNATURE_LEN = 64;
  const CODE_VERSION = 1;
  const EPOCH_MS = Date.UTC(2000, 0, 1);
  const DAY_MS = 86400000;

  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("scan-form"),
    code: $("code"),
    net: $("net"),
    netLabel: $("net-label"),
    netHint: $("net-hint"),
    pending: $("pending-count"),
    alert: $("alert"),
    dirIn: $("dir-in"),
    dirOut: $("dir-out"),
    count: $("count"),
    camera: $("camera"),
    video: $("camera-view"),
    again: $("again"),
    verdict: $("verdict"),
    word: $("verdict-word"),
    reason: $("verdict-reason"),
    name: $("verdict-name"),
    numbers: $("verdict-numbers"),
    offline: $("verdict-offline"),
    hour: $("hour-count"),
    history: $("history"),
    historyEmpty: $("history-empty"),
    diagnostics: $("diagnostics"),
    reloadHint: $("reload-hint"),
  };

  /** Read by tests and benchmarks: how long the console takes to decide alone, per code. */
  const stats = {
    lastOfflineVerifyMs: null,
    offlineVerifyCount: 0,
    offlineVerifyTotalMs: 0,
    lastOnlineMs: null,
    online: true,
    pending: 0,
    synced: 0,
    conflicts: 0,
    rejected: 0,
    bundleVersion: null,
    ed25519: null,
  };
  window.gateStats = stats;

  const state = {
    online: true,
    bundle: null,
    revoked: new Set(),
    keys: new Map(), // key id -> CryptoKey
    keyCache: new Map(), // base64 public key -> CryptoKey
    direction: config.gate_kind === "exit" ? "out" : "in",
    chain: Promise.resolve(),
    group: null, // {code, party, remaining, direction, until}
    probeTimer: null,
    probeDelay: PROBE_MIN_MS,
    syncing: false,
    syncTimer: null,
    syncDelay: 1000,
    fullscreenTimer: null,
    camera: null,
  };

  // ---------------------------------------------------------------- storage

  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- time (museum time from the server's clock)

  function offsetMinutes() {
    return state.bundle ? state.bundle.utc_offset_minutes : -new Date().getTimezoneOffset();
  }

  /** Now by the server's clock (the device's clock corrected by the skew seen when the bundle came). */
  function serverNow() {
    return Date.now() + (state.bundle && Number.isFinite(state.bundle.skew_ms) ? state.bundle.skew_ms : 0);
  }

  function museumTime(ms = serverNow()) {
    const shifted = new Date(ms + offsetMinutes() * 60000);
    const iso = shifted.toISOString();
    return {
      date: iso.slice(0, 10),
      hourKey: iso.slice(0, 13),
      clock: iso.slice(11, 19),
      minutes:
        shifted.getUTCHours() * 60 +
        shifted.getUTCMinutes() +
        shifted.getUTCSeconds() / 60 +
        shifted.getUTCMilliseconds() / 60000,
    };
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  /** An ISO 8601 time with the museum's offset, e.g. 2026-07-10T10:00:00.123+08:00. */
  function isoWithOffset(ms) {
    const offset = offsetMinutes();
    const shifted = new Date(ms + offset * 60000).toISOString();
    const sign = offset >= 0 ? "+" : "-";
    const abs = Math.abs(offset);
    return `${shifted.slice(0, -1)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  function hhmm(minutes) {
    return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
  }

  function parseIso(text) {
    // Date.parse wants at most milliseconds; the server sends microseconds.
    return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
  }

  // ---------------------------------------------------------------- code format

  function base32Decode(text) {
    const out = new Uint8Array(Math.floor((text.length * 5) / 8));
    let value = 0;
    let bits = 0;
    let index = 0;
    for (let i = 0; i < text.length; i += 1) {
      const digit = B32.indexOf(text[i]);
      if (digit < 0) return null;
      value = ((value << 5) | digit) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[index] = (value >>> bits) & 0xff;
        index += 1;
      }
    }
    return out;
  }

  function base32Encode(bytes) {
    let out = "";
    let value = 0;
    let bits = 0;
    for (const byte of bytes) {
      value = ((value << 8) | byte) & 0xffff;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out += B32[(value >>> bits) & 31];
      }
    }
    if (bits > 0) out += B32[(value << (5 - bits)) & 31];
    return out;
  }

  function referenceText(number) {
    let text = "";
    for (let i = 0; i < 10; i += 1) {
      text = REFERENCE_ALPHABET[number % 25] + text;
      number = Math.floor(number / 25);
    }
    return number ? null : text;
  }

  /** The claims of a code as printed in its QR image, or null when it is not one (signature unchecked). */
  function parseCode(text) {
    const raw = base32Decode(text);
    if (!raw || raw.length !== PAYLOAD_LEN + SIGNATURE_LEN) return null;
    if (base32Encode(raw) !== text) return null; // only the canonical spelling is a code
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let number = 0;
    for (let i = 2; i < 8; i += 1) number = number * 256 + raw[i];
    const reference = referenceText(number);
    if (reference === null) return null;
    return {
      version: view.getUint8(0),
      keyId: view.getUint8(1),
      reference,
      slotId: view.getUint32(8),
      date: new Date(EPOCH_MS + view.getUint16(12) * DAY_MS).toISOString().slice(0, 10),
      start: view.getUint16(14),
      end: view.getUint16(16),
      party: view.getUint8(18),
      payload: raw.subarray(0, PAYLOAD_LEN),
      signature: raw.subarray(PAYLOAD_LEN),
    };
  }

  function normalise(text) {
    return String(text || "")
      .replace(/[\s-]+/g, "")
      .toUpperCase()
      .slice(0, MAX_CODE);
  }

  // ---------------------------------------------------------------- bundle

  async function importKey(base64) {
    if (state.keyCache.has(base64)) return state.keyCache.get(base64);
    const raw = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    state.keyCache.set(base64, key);
    return key;
  }

  async function useBundle(bundle) {
    state.bundle = bundle;
    state.revoked = new Set(bundle.revoked || []);
    stats.bundleVersion = bundle.version;
    const keys = new Map();
    if (window.crypto && crypto.subtle) {
      for (const item of bundle.keys || []) {
        try {
          keys.set(item.id, await importKey(item.public_key));
          stats.ed25519 = true;
        } catch (error) {
          if (error && error.name === "NotSupportedError") stats.ed25519 = false;
        }
      }
    } else {
      stats.ed25519 = false;
    }
    state.keys = keys;
    pruneLocal();
    render();
  }

  async function refreshBundle() {
    const started = Date.now();
    let response;
    try {
      response = await request(config.urls.bundle, { method: "GET" }, BUNDLE_TIMEOUT_MS);
    } catch {
      goOffline();
      return false;
    }
    if (!response.ok) {
      noteHttpProblem(response.status);
      if (response.status >= 500) goOffline();
      return false;
    }
    let bundle;
    try {
      bundle = await response.json();
    } catch {
      return false;
    }
    const received = Date.now();
    bundle.fetch_started_at = started;
    bundle.skew_ms = Math.round(parseIso(bundle.generated_at) - (started + received) / 2) || 0;
    save(STORE.bundle, bundle);
    await useBundle(bundle);
    goOnline();
    return true;
  }

  // ---------------------------------------------------------------- this device's own passages

  /** Passages the bundle does not know yet: [{ref, n, dir, nonce, date, synced}] (synced: device ms or null). */
  function localPassages() {
    return load(STORE.local, []);
  }

  function addLocalPassage(reference, count, direction, nonce, synced) {
    const list = localPassages();
    list.push({ ref: reference, n: count, dir: direction, nonce, date: museumTime().date, synced });
    save(STORE.local, list);
  }

  function markSynced(nonces) {
    const now = Date.now();
    const list = localPassages().map((item) => (nonces.has(item.nonce) && !item.synced ? { ...item, synced: now } : item));
    save(STORE.local, list);
  }

  /** Forget passages a bundle fetched after they reached the server already counts, and other days'. */
  function pruneLocal() {
    const bundle = state.bundle;
    const today = museumTime().date;
    const list = localPassages().filter(
      (item) =>
        item.date === today &&
        !(bundle && bundle.date === today && item.synced && item.synced < bundle.fetch_started_at),
    );
    save(STORE.local, list);
  }

  function passages(reference) {
    let entered = 0;
    let exited = 0;
    for (const item of localPassages()) {
      if (item.ref !== reference) continue;
      if (item.dir === "out") exited += item.n;
      else entered += item.n;
    }
    const bundle = state.bundle || {};
    const base = (bundle.admitted && bundle.admitted[reference]) || 0;
    const baseInside = (bundle.inside && bundle.inside[reference]) || 0;
    return { admitted: base + entered, inside: Math.max(0, baseInside + entered - exited) };
  }

  // ---------------------------------------------------------------- deciding offline

  function offlineRefusal(reason, extra = {}) {
    return { verdict: "refused", reason, admitted: 0, party: 0, already: 0, queue: true, ...extra };
  }

  /** The decision the server would take, from the bundle alone. Pure: records nothing. */
  async function checkOffline(code, direction, count) {
    const bundle = state.bundle;
    if (REFERENCE.test(code)) return offlineRefusal("offline_reference", { queue: false, reference: code });
    // Yesterday's bundle does not know today's cancellations: no decisions from it.
    if (!bundle || bundle.date !== museumTime().date) return offlineRefusal("offline_no_bundle", { queue: false });
    const kind = (bundle.gate && bundle.gate.kind) || config.gate_kind;
    if ((direction === "in" && kind === "exit") || (direction === "out" && kind === "entry")) {
      return offlineRefusal("wrong_direction");
    }
    const claims = parseCode(code);
    if (!claims || claims.version !== CODE_VERSION) return offlineRefusal("invalid_code");
    if (!window.crypto || !crypto.subtle || stats.ed25519 === false) {
      return offlineRefusal("offline_unsupported", { queue: false });
    }
    const key = state.keys.get(claims.keyId);
    if (!key) return offlineRefusal("invalid_code");
    let valid = false;
    try {
      valid = await crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, claims.payload);
    } catch {
      valid = false;
    }
    if (!valid) return offlineRefusal("invalid_code");

    const seen = passages(claims.reference);
    const ticket = {
      reference: claims.reference,
      party: claims.party,
      already: seen.admitted,
      window: `${hhmm(claims.start)}–${hhmm(claims.end)}`,
      date: claims.date,
    };
    const refuse = (reason) => offlineRefusal(reason, ticket);
    const now = museumTime();
    const otherVenue = claims.date === bundle.date && Array.isArray(bundle.slots) && !bundle.slots.includes(claims.slotId);
    // As on the server: someone inside may always leave, whatever the day; entering is checked in full.
    if (direction === "out") {
      if (otherVenue) return refuse("wrong_venue");
      if (count > seen.inside) return refuse("not_inside");
      return { verdict: "admitted", reason: null, admitted: count, queue: true, ...ticket };
    }
    if (state.revoked.has(claims.reference)) return refuse("revoked");
    if (claims.date !== now.date) return refuse("wrong_day");
    if (otherVenue) return refuse("wrong_venue");
    const rules = bundle.rules || {};
    if (now.minutes < claims.start - (rules.entry_grace_minutes || 0)) return refuse("too_early");
    if (now.minutes >= claims.end && !rules.late_entry_allowed) return refuse("too_late");
    const left = claims.party - seen.admitted;
    if (left <= 0) {
      const reentering = rules.reentry_allowed && seen.inside + count <= seen.admitted;
      if (!reentering) return refuse("already_admitted");
    } else if (count > left) {
      return refuse("exceeds_party");
    }
    return { verdict: "admitted", reason: null, admitted: count, queue: true, ...ticket };
  }

  async function decideOffline(code, direction, count) {
    const started = performance.now();
    const decision = await checkOffline(code, direction, count);
    const elapsed = performance.now() - started;
    if (decision.queue) {
      stats.lastOfflineVerifyMs = Math.round(elapsed * 1000) / 1000;
      stats.offlineVerifyCount += 1;
      stats.offlineVerifyTotalMs += elapsed;
    }
    return { ...decision, offline: true };
  }

  // ---------------------------------------------------------------- server

  function headers(extra = {}) {
    return { Accept: "application/json", "X-CSRFToken": config.csrf_token, ...extra };
  }

  async function request(url, options, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        ...options,
        headers: headers(options.headers),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  function postJson(url, body, timeoutMs) {
    return request(
      url,
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
      timeoutMs,
    );
  }

  async function errorCode(response) {
    try {
      const body = await response.json();
      return { code: body.error && body.error.code, fields: (body.error && body.error.fields) || {} };
    } catch {
      return { code: null, fields: {} };
    }
  }

  /** 401, 403 or a stale CSRF token: the network is fine, but this page may not talk to the server. */
  function noteHttpProblem(status) {
    if (status === 401 || status === 403) showAlert(T.session_ended);
    else if (status === 400) showAlert(T.reload_needed);
  }

  async function scanOnline(item) {
    const started = performance.now();
    let response;
    try {
      response = await postJson(
        config.urls.scans,
        { code: item.code, gate: GATE, direction: item.direction, nonce: item.nonce, count: item.count },
        SCAN_TIMEOUT_MS,
      );
    } catch {
      return { kind: "unreachable" };
    }
    if (response.ok) {
      try {
        const data = await response.json();
        stats.lastOnlineMs = Math.round(performance.now() - started);
        return { kind: "answer", data };
      } catch {
        return { kind: "unreachable" };
      }
    }
    if (response.status === 422) return { kind: "invalid" };
    if ([400, 401, 403].includes(response.status)) {
      noteHttpProblem(response.status);
      return { kind: "not_allowed" };
    }
    return { kind: "unreachable" }; // 5xx, 429, a proxy's error page: the server cannot decide now
  }

  function fromServer(data, item) {
    const ticket = data.ticket;
    return {
      verdict: data.verdict,
      reason: data.reason,
      message: data.message,
      admitted: data.admitted || 0,
      party: data.party_size || (ticket && ticket.party_size) || 0,
      already: data.already_admitted || 0,
      reference: ticket ? ticket.reference : REFERENCE.test(item.code) ? item.code : null,
      // A group's code: the organisation and its leader, so staff see whose block of visitors this is.
      name: ticket ? (ticket.group ? `${ticket.group.organisation} · ${ticket.group.leader_masked}` : ticket.name_masked) : null,
      window: ticket ? `${ticket.start.slice(11, 16)}–${ticket.end.slice(11, 16)}` : null,
      date: ticket ? ticket.date : null,
      offline: false,
    };
  }

  // ---------------------------------------------------------------- online / offline

  function goOffline() {
    if (state.online) {
      state.online = false;
      stats.online = false;
      render();
    }
    scheduleProbe();
  }

  function goOnline() {
    const was = state.online;
    state.online = true;
    stats.online = true;
    state.probeDelay = PROBE_MIN_MS;
    if (state.probeTimer) {
      clearTimeout(state.probeTimer);
      state.probeTimer = null;
    }
    if (!was) render();
    if (pendingCount() > 0) syncSoon(0);
  }

  function scheduleProbe(delay = state.probeDelay) {
    if (state.probeTimer) return;
    state.probeTimer = setTimeout(probe, delay);
  }

  async function probe() {
    state.probeTimer = null;
    let ok = false;
    try {
      ok = (await request(config.urls.health, { method: "GET" }, 2000)).ok;
    } catch {
      ok = false;
    }
    if (ok) {
      goOnline();
      refreshBundle();
    } else {
      state.probeDelay = Math.min(Math.round(state.probeDelay * 1.5), PROBE_MAX_MS);
      scheduleProbe();
    }
  }

  // ---------------------------------------------------------------- queue and sync

  function pendingCount() {
    return load(STORE.queue, []).length;
  }

  function enqueue(item) {
    const queue = load(STORE.queue, []);
    queue.push(item);
    if (!save(STORE.queue, queue)) showAlert(T.storage_full);
  }

  function removeFromQueue(nonces) {
    save(
      STORE.queue,
      load(STORE.queue, []).filter((item) => !nonces.has(item.nonce)),
    );
  }

  function setAside(items, why) {
    const rejected = load(STORE.rejected, []);
    for (const item of items) rejected.push({ ...item, why });
    save(STORE.rejected, rejected.slice(-500));
    removeFromQueue(new Set(items.map((item) => item.nonce)));
    stats.rejected += items.length;
    showAlert(T.rejected.replace("%(n)s", String(stats.rejected)));
  }

  function syncSoon(delay = state.syncDelay) {
    if (state.syncTimer) clearTimeout(state.syncTimer);
    state.syncTimer = setTimeout(() => {
      state.syncTimer = null;
      syncNow();
    }, delay);
  }

  /** Upload queued scans in batches until the queue is empty or the server stops answering. */
  async function syncNow() {
    if (state.syncing) return;
    state.syncing = true;
    render();
    let batchSize = SYNC_BATCH;
    let uploaded = false;
    try {
      for (;;) {
        const queue = load(STORE.queue, []);
        if (!queue.length) break;
        const batch = queue.slice(0, batchSize);
        let response;
        try {
          response = await postJson(config.urls.sync, { scans: batch }, SYNC_TIMEOUT_MS);
        } catch {
          response = null;
        }
        let body = null;
        if (response && response.ok) {
          try {
            body = await response.json();
          } catch {
            response = null; // cut off mid-answer: try again later
          }
        }
        const nonces = new Set(body && Array.isArray(body.results) ? body.results.map((result) => result.nonce) : []);
        if (batch.some((item) => nonces.has(item.nonce))) {
          stats.conflicts += body.results.filter((result) => result.recorded && result.conflict).length;
          stats.synced += body.results.filter((result) => result.recorded).length;
          markSynced(nonces);
          removeFromQueue(nonces);
          state.syncDelay = 1000;
          uploaded = true;
          if (stats.conflicts) showAlert(T.conflicts.replace("%(n)s", String(stats.conflicts)));
          render();
          continue;
        }
        if (response && response.status === 422) {
          // One malformed scan must not block the others: set aside the ones named, else go one by one.
          const { fields } = await errorCode(response);
          const bad = new Set();
          for (const name of Object.keys(fields)) {
            const match = /^scans\.(\d+)/.exec(name);
            if (match && Number(match[1]) < batch.length) bad.add(Number(match[1]));
          }
          if (bad.size) setAside(batch.filter((_, index) => bad.has(index)), fields);
          else if (batchSize > 1) batchSize = 1;
          else setAside(batch, fields);
          continue;
        }
        if (!response || response.status >= 500 || response.status === 429) goOffline();
        else noteHttpProblem(response.status);
        syncSoon(state.syncDelay);
        state.syncDelay = Math.min(state.syncDelay * 2, SYNC_BACKOFF_MAX_MS);
        break;
      }
    } finally {
      state.syncing = false;
      render();
    }
    if (uploaded && pendingCount() === 0) refreshBundle();
  }

  // ---------------------------------------------------------------- scanning

  function newNonce() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join(
      "",
    );
  }

  function submit(rawCode, options = {}) {
    const code = normalise(rawCode);
    if (!code) return state.chain;
    // Scans are decided one after another, in the order they were made.
    state.chain = state.chain.then(() => scan(code, options)).catch((error) => console.error(error));
    return state.chain;
  }

  async function scan(code, { again = false } = {}) {
    const sameGroup = state.group && state.group.code === code && Date.now() < state.group.until;
    // The count selector applies to a new code, or to the group code it was filled for; another code counts 1.
    const count = again || sameGroup || !state.group ? Number(el.count.value) || 1 : 1;
    if (!again) state.group = null;
    const item = { nonce: newNonce(), code, direction: state.direction, count, at: serverNow() };
    showChecking();
    let outcome = null;
    if (state.online) {
      const answer = await scanOnline(item);
      if (answer.kind === "answer") {
        outcome = fromServer(answer.data, item);
        if (outcome.verdict === "admitted" && outcome.reference) {
          addLocalPassage(outcome.reference, outcome.admitted, item.direction, item.nonce, Date.now());
        }
      } else if (answer.kind === "invalid") {
        outcome = { verdict: "refused", reason: "invalid_code", admitted: 0, party: 0, already: 0, offline: false };
      } else if (answer.kind === "unreachable") {
        goOffline();
      }
    }
    if (!outcome) {
      outcome = await decideOffline(code, item.direction, count);
      if (outcome.queue) {
        // The same nonce as the attempt online: if that one did reach the server, the upload is a no-op.
        enqueue({
          nonce: item.nonce,
          code,
          direction: item.direction,
          count,
          scanned_at: isoWithOffset(item.at),
          verdict: outcome.verdict,
          reason: outcome.reason,
          gate: GATE,
        });
        if (outcome.verdict === "admitted") {
          addLocalPassage(outcome.reference, count, item.direction, item.nonce, null);
        }
        if (state.online) syncSoon(0);
      }
    }
    present({ ...outcome, code, direction: item.direction, at: item.at });
  }

  // ---------------------------------------------------------------- showing it

  function reasonText(outcome) {
    if (!outcome.reason) return "";
    if (outcome.reason === "wrong_day" && outcome.date && T.wrong_day_on) {
      return T.wrong_day_on.replace("%(day)s", visitDay(outcome.date));
    }
    return REASONS[outcome.reason] || outcome.message || outcome.reason.replace(/_/g, " ");
  }

  /** A ticket's day (YYYY-MM-DD) as the page's language writes it, weekday first: "Tuesday, August 4". */
  function visitDay(isoDate) {
    try {
      const options = { weekday: "long", month: "long", day: "numeric", timeZone: "UTC" };
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options).format(
        new Date(`${isoDate}T00:00:00Z`),
      );
    } catch (error) {
      return isoDate;
    }
  }

  function showChecking() {
    el.verdict.dataset.verdict = "checking";
    el.word.textContent = T.checking;
    el.reason.textContent = "";
  }

  function present(outcome) {
    const admitted = outcome.verdict === "admitted";
    el.verdict.dataset.verdict = outcome.verdict;
    el.word.textContent = admitted ? T.admitted : T.refused;
    el.reason.textContent = reasonText(outcome);
    // The reference and the window each in a span that never breaks inside ("09:00–12:30", never
    // "12:3 / 0"); the name may wrap, however long it is.
    el.name.replaceChildren();
    [[outcome.name, "who-name"], [outcome.reference, "who-part"], [outcome.window, "who-part"]]
      .filter(([part]) => part)
      .forEach(([part, kind], index) => {
        if (index) el.name.append(" · ");
        const span = document.createElement("span");
        span.className = kind;
        span.textContent = part;
        el.name.append(span);
      });
    el.offline.hidden = !outcome.offline;
    renderNumbers(outcome);
    document.body.classList.add("verdict-full");
    clearTimeout(state.fullscreenTimer);
    state.fullscreenTimer = setTimeout(
      () => document.body.classList.remove("verdict-full"),
      admitted ? FULLSCREEN_MS.admitted : FULLSCREEN_MS.refused,
    );
    playVerdict(admitted);
    if (!admitted && navigator.vibrate) navigator.vibrate([180, 80, 180]);

    if (admitted && outcome.direction === "in") {
      const hours = load(STORE.hours, {});
      const key = museumTime(outcome.at).hourKey;
      hours[key] = (hours[key] || 0) + outcome.admitted;
      const keep = Object.keys(hours).sort().slice(-48);
      save(STORE.hours, Object.fromEntries(keep.map((hour) => [hour, hours[hour]])));
    }
    const history = load(STORE.history, []);
    history.unshift({
      at: museumTime(outcome.at).clock,
      verdict: outcome.verdict,
      reason: outcome.reason,
      reference: outcome.reference || null,
      name: outcome.name || null,
      admitted: outcome.admitted,
      party: outcome.party,
      direction: outcome.direction,
      offline: Boolean(outcome.offline),
      checked: outcome.queue !== false,
    });
    save(STORE.history, history.slice(0, HISTORY_MAX));
    updateGroup(outcome);
    render();
  }

  function renderNumbers(outcome) {
    el.numbers.replaceChildren();
    if (!outcome.party) {
      el.numbers.hidden = true;
      return;
    }
    const rows = [[T.party, outcome.party]];
    if (outcome.direction === "in") {
      rows.push([T.let_in_now, outcome.admitted]);
      rows.push([T.in_before, outcome.already]);
      rows.push([T.left_to_enter, Math.max(0, outcome.party - outcome.already - outcome.admitted)]);
    } else {
      rows.push([T.let_out_now, outcome.admitted]);
    }
    for (const [label, value] of rows) {
      const group = document.createElement("div");
      const term = document.createElement("dt");
      const detail = document.createElement("dd");
      term.textContent = label;
      detail.textContent = String(value);
      group.append(term, detail);
      el.numbers.append(group);
    }
    el.numbers.hidden = false;
  }

  /** After a group code, the count selector offers 1..what is left of the party, for "let more in". */
  function updateGroup(outcome) {
    const left = outcome.party - outcome.already - outcome.admitted;
    if (outcome.direction === "in" && outcome.party > 1 && left > 0 && outcome.reason !== "invalid_code") {
      state.group = { code: outcome.code, party: outcome.party, until: Date.now() + GROUP_CONTEXT_MS };
      fillCount(left, left);
    } else {
      state.group = null;
      fillCount(PRESET_MAX, 1);
    }
  }

  function fillCount(max, selected) {
    el.count.replaceChildren();
    for (let n = 1; n <= max; n += 1) {
      const option = document.createElement("option");
      option.value = String(n);
      option.textContent = String(n);
      option.selected = n === selected;
      el.count.append(option);
    }
    renderAgain();
  }

  function renderAgain() {
    const active = state.group && Date.now() < state.group.until;
    el.again.hidden = !active;
    if (active) el.again.textContent = T.again.replace("%(n)s", el.count.value);
  }

  function renderHistory() {
    const history = load(STORE.history, []);
    el.history.replaceChildren();
    for (const entry of history) {
      const item = document.createElement("li");
      item.className = `scan ${entry.verdict}${entry.offline ? " offline" : ""}`;
      const time = document.createElement("span");
      time.className = "scan-time";
      time.textContent = entry.at;
      const verdict = document.createElement("span");
      verdict.className = "scan-verdict";
      verdict.textContent = `${entry.verdict === "admitted" ? "✓" : "✕"} ${
        entry.verdict === "admitted" ? T.admitted : T.refused
      }${entry.direction === "out" ? ` (${T.direction_out})` : ""}`;
      const detail = document.createElement("span");
      detail.className = "scan-detail";
      const parts = [entry.name, entry.reference];
      if (entry.party) parts.push(`${entry.admitted}/${entry.party}`);
      if (entry.reason) parts.push(REASONS[entry.reason] || entry.reason);
      detail.textContent = parts.filter((part) => part !== null && part !== undefined && part !== "").join(" · ");
      item.append(time, verdict, detail);
      if (entry.offline) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = entry.checked ? T.offline : T.not_checked;
        item.append(badge);
      }
      el.history.append(item);
    }
    el.historyEmpty.hidden = history.length > 0;
  }

  function render() {
    const pending = pendingCount();
    stats.pending = pending;
    el.net.dataset.state = state.online ? "online" : "offline";
    el.netLabel.textContent = state.online ? (state.syncing && pending ? T.uploading : T.online) : T.offline;
    el.netHint.hidden = state.online;
    el.pending.textContent = String(pending);
    el.net.classList.toggle("has-pending", pending > 0);
    const hours = load(STORE.hours, {});
    el.hour.textContent = String(hours[museumTime().hourKey] || 0);
    renderHistory();
    renderAgain();
    renderDiagnostics();
  }

  function renderDiagnostics() {
    const parts = [];
    if (stats.lastOfflineVerifyMs !== null) {
      const average = stats.offlineVerifyTotalMs / stats.offlineVerifyCount;
      parts.push(
        `${T.offline_check_time.replace("%(ms)s", stats.lastOfflineVerifyMs.toFixed(2))} (⌀ ${average.toFixed(2)}, n=${
          stats.offlineVerifyCount
        })`,
      );
    }
    if (stats.lastOnlineMs !== null) parts.push(T.online_answer_time.replace("%(ms)s", String(stats.lastOnlineMs)));
    if (state.bundle) {
      const when = museumTime(parseIso(state.bundle.generated_at) || Date.now()).clock;
      parts.push(`${T.bundle_age.replace("%(time)s", when)} (${state.bundle.version})`);
    } else {
      parts.push(T.bundle_none);
    }
    if (stats.ed25519 === false) parts.push(REASONS.offline_unsupported);
    el.diagnostics.textContent = parts.join(" · ");
  }

  function showAlert(text) {
    el.alert.textContent = text;
    el.alert.hidden = false;
  }

  // ---------------------------------------------------------------- sound (WebAudio, no files)

  let audioContext = null;

  function audio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audioContext) {
      try {
        audioContext = new Context();
      } catch {
        return null;
      }
    }
    if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
    return audioContext;
  }

  function tone(context, frequency, start, duration, type, volume) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = type;
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(volume, start + 0.01);
    gain.gain.setValueAtTime(volume, start + duration - 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + duration);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + duration + 0.02);
  }

  function playVerdict(admitted) {
    const context = audio();
    if (!context) return;
    const now = context.currentTime + 0.01;
    if (admitted) {
      // Two short rising notes.
      tone(context, 880, now, 0.1, "sine", 0.35);
      tone(context, 1320, now + 0.12, 0.16, "sine", 0.35);
    } else {
      // Two low buzzes.
      tone(context, 180, now, 0.22, "square", 0.22);
      tone(context, 140, now + 0.28, 0.36, "square", 0.22);
    }
  }

  // ---------------------------------------------------------------- camera (BarcodeDetector, Android Chrome)

  async function setUpCamera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (!formats.includes("qr_code")) return;
    } catch {
      return;
    }
    el.camera.hidden = false;
    el.camera.addEventListener("click", () => (state.camera ? stopCamera() : startCamera()));
  }

  async function startCamera() {
    try {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
      state.camera = { stream, detector, last: null, lastAt: 0 };
      el.video.srcObject = stream;
      el.video.hidden = false;
      await el.video.play();
      el.camera.textContent = T.camera_stop;
      el.code.setAttribute("inputmode", "none"); // no on-screen keyboard over the picture
      detectLoop();
    } catch {
      stopCamera();
      showAlert(T.camera_failed);
    }
  }

  function stopCamera() {
    if (state.camera) state.camera.stream.getTracks().forEach((track) => track.stop());
    state.camera = null;
    el.video.srcObject = null;
    el.video.hidden = true;
    el.camera.textContent = T.camera_start;
    el.code.removeAttribute("inputmode");
  }

  async function detectLoop() {
    const camera = state.camera;
    if (!camera) return;
    try {
      if (el.video.readyState >= 2) {
        const found = await camera.detector.detect(el.video);
        const value = found.length ? found[0].rawValue : null;
        // The same code stays in front of the camera: scan it once, not on every frame.
        if (value && (value !== camera.last || Date.now() - camera.lastAt > 4000)) {
          camera.last = value;
          camera.lastAt = Date.now();
          submit(value);
        }
      }
    } catch {
      /* a frame that could not be read */
    }
    setTimeout(detectLoop, 120);
  }

  // ---------------------------------------------------------------- input and focus

  function focusInput() {
    if (document.activeElement !== el.code) el.code.focus({ preventScroll: true });
  }

  function setDirection(direction) {
    state.direction = direction;
    el.dirIn.setAttribute("aria-pressed", String(direction === "in"));
    el.dirOut.setAttribute("aria-pressed", String(direction === "out"));
    state.group = null;
    fillCount(PRESET_MAX, 1);
  }

  function wireInput() {
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = el.code.value;
      el.code.value = "";
      submit(value);
      focusInput();
    });
    // The scanner types wherever the focus is: keep it in the code field.
    el.code.addEventListener("blur", () =>
      setTimeout(() => {
        const active = document.activeElement;
        if (!active || active === document.body) focusInput();
      }, 0),
    );
    // A code's characters typed elsewhere (a control reached with Tab) go to the code field; Enter and
    // Space keep working on buttons, and a select keeps its own keys.
    document.addEventListener("keydown", (event) => {
      const active = document.activeElement;
      if (active === el.code || event.ctrlKey || event.metaKey || event.altKey) return;
      if (active && active.tagName === "SELECT") return;
      if (/^[A-Za-z0-9]$/.test(event.key)) focusInput();
    });
    el.dirIn.addEventListener("click", () => {
      setDirection("in");
      focusInput();
    });
    el.dirOut.addEventListener("click", () => {
      setDirection("out");
      focusInput();
    });
    el.count.addEventListener("change", () => {
      renderAgain();
      focusInput();
    });
    el.again.addEventListener("click", () => {
      if (state.group) submit(state.group.code, { again: true });
      focusInput();
    });
    el.verdict.addEventListener("click", () => {
      document.body.classList.remove("verdict-full");
      focusInput();
    });
    document.addEventListener("pointerdown", audio, { once: true });
    document.addEventListener("keydown", audio, { once: true });
    window.addEventListener("online", () => {
      state.probeDelay = PROBE_MIN_MS;
      if (state.probeTimer) clearTimeout(state.probeTimer);
      state.probeTimer = null;
      probe();
    });
    window.addEventListener("offline", goOffline);
    window.addEventListener("storage", (event) => {
      if (event.key === STORE.queue || event.key === STORE.history) render();
    });
  }

  // ---------------------------------------------------------------- reload offline (service worker)

  /** The worker (/gate-sw.js) keeps this page and its assets so that a reload works without the server.
   * It needs a secure context (HTTPS or localhost); without it the page warns not to reload offline. */
  async function registerWorker() {
    if (!("serviceWorker" in navigator)) {
      if (el.reloadHint) el.reloadHint.hidden = false;
      return;
    }
    try {
      await navigator.serviceWorker.register("/gate-sw.js", { scope: "/gate" });
    } catch {
      if (el.reloadHint && !navigator.serviceWorker.controller) el.reloadHint.hidden = false;
    }
  }

  /** Logging out forgets the copy of this page kept for reloads offline (it names who was logged in, and
   * would open a working console without a login). Scans still waiting for the server stay queued. */
  function wireLogout() {
    const form = document.querySelector("form.logout");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await forgetKeptPages();
      } finally {
        form.submit(); // does not fire "submit" again
      }
    });
  }

  async function forgetKeptPages() {
    if (!("caches" in window)) return;
    for (const name of await caches.keys()) {
      if (!name.startsWith("museum-gate-")) continue;
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        if (new URL(request.url).pathname === "/gate") await cache.delete(request);
      }
    }
  }

  // ---------------------------------------------------------------- start

  async function start() {
    setDirection(state.direction);
    wireInput();
    wireLogout();
    focusInput();
    const stored = load(STORE.bundle, null);
    if (stored && stored.gate && stored.gate.key === GATE) await useBundle(stored);
    render();
    setUpCamera();
    registerWorker();
    await refreshBundle();
    if (pendingCount() > 0 && state.online) syncSoon(0);
    setInterval(() => {
      if (state.online) refreshBundle();
    }, BUNDLE_EVERY_MS);
    setInterval(render, 30000); // the hour's count rolls over
  }

  /** For benchmarks and tests: decide a code offline without recording anything. */
  window.gateConsole = {
    checkOffline: async (code, direction = "in", count = 1) => {
      const started = performance.now();
      const decision = await checkOffline(normalise(code), direction, count);
      return { verdict: decision.verdict, reason: decision.reason, ms: performance.now() - started };
    },
    syncNow,
    refreshBundle,
  };

  start();
})();
