// Shared helpers of the Menagerie console. Plain ES modules, no dependencies.
//
// Every string that comes from the API (file names, logs, results, errors) is
// put into the page as text: h() turns string children into text nodes, and
// nothing here assigns innerHTML. The job statuses are the API's (assets/statuses.js, written from @menagerie/core).
import { FINAL_STATUSES } from './statuses.js';

export { FINAL_STATUSES, JOB_STATUSES } from './statuses.js';
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Builds an element. `props`: `class`, `text`, `dataset`, `on` (event
 * handlers), `hidden`, and any other key as an attribute. Children: nodes,
 * strings (as text), numbers, arrays; null/undefined/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (key === 'href') el.setAttribute('href', safeHref(value));
    else if (key.startsWith('on')) throw new Error(`use the "on" prop for ${key}`);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Only same-origin paths and http(s) URLs become links. */
export function safeHref(value) {
  const s = String(value);
  if (s.startsWith('/') && !s.startsWith('//')) return s;
  try {
    const url = new URL(s, location.href);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  } catch {
    /* not a URL */
  }
  return '#';
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let askedForKey = false;

/**
 * When the API has keys configured, ask once for one and keep it in a
 * same-site cookie, which pages, downloads and uploads then carry.
 */
export function askForKey() {
  if (askedForKey) return;
  askedForKey = true;
  const key = window.prompt('This Menagerie needs an API key:');
  if (!key) return;
  document.cookie = keyCookie(key.trim());
  window.location.reload();
}

/**
 * The key cookie, for document.cookie: same-site only, and `Secure` whenever
 * the page came over HTTPS (the protocol the browser saw, so a proxy that
 * terminates TLS counts), so the key is never sent back in clear.
 */
export function keyCookie(key, protocol = location.protocol) {
  const secure = protocol === 'https:' ? '; Secure' : '';
  return `menagerie_api_key=${encodeURIComponent(key)}; path=/; SameSite=Strict${secure}`;
}

/** fetch + JSON, throwing ApiError with the API's {error, message}. */
export async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', ...options });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the API could not be reached');
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (res.status === 401 && body?.error === 'UNAUTHORIZED') askForKey();
  if (!res.ok) {
    throw new ApiError(res.status, body?.error ?? `HTTP_${res.status}`, body?.message ?? (text.slice(0, 200) || res.statusText));
  }
  return body;
}

export function errorText(err) {
  if (err instanceof ApiError) return err.code === 'NETWORK' ? err.message : `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Replaces an element's children, skipping null/undefined/false (replaceChildren would print "null"). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Shows (or, with null, hides) a message in a notice element. */
export function notice(el, message) {
  if (!el) return;
  el.textContent = message ?? '';
  el.hidden = !message;
}

/** `1.2 MB`, with the exact count of bytes available for titles. */
export function formatBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

export function formatCount(n) {
  return new Intl.NumberFormat('en').format(n);
}

/** `850 ms`, `3.4 s`, `2 min 5 s`, `1 h 3 min`. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const rest = (n, unit) => (n ? ` ${n} ${unit}` : '');
  if (m < 60) return `${m} min${rest(Math.round(s - m * 60), 's')}`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h${rest(m - hrs * 60, 'min')}`;
  return `${Math.floor(hrs / 24)} d${rest(hrs % 24, 'h')}`;
}

export function between(from, to) {
  if (!from || !to) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export function formatDate(iso) {
  return iso ? dateFormat.format(new Date(iso)) : '—';
}

/** `12 s ago`, `5 min ago`, then the date. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '—';
  const diff = Math.max(0, now - new Date(iso).getTime()) / 1000;
  if (diff < 5) return 'just now';
  if (diff < 60) return `${Math.floor(diff)} s ago`;
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return formatDate(iso);
}

/** A <time> showing "5 min ago", the full date in its title. */
export function timeAgo(iso) {
  return h('time', { datetime: iso ?? undefined, title: iso ? formatDate(iso) : undefined, text: formatAgo(iso) });
}

const STATUS_LABELS = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
  completed_with_failures: 'Completed with failures', // a submission's
};

/** `Timed out` for `timed_out`; a status it doesn't know as it is. */
export const statusLabel = (status) => STATUS_LABELS[status] ?? status;

export function statusBadge(status) {
  return h('span', {
    class: `badge status-${String(status).replace(/[^a-z_]/g, '')}`,
    dataset: { status },
    text: statusLabel(status),
  });
}

export function isFinal(status) {
  return FINAL_STATUSES.includes(status);
}

export function shortHash(hash, n = 12) {
  if (!hash) return '—';
  const hex = String(hash).replace(/^sha256:/, '');
  return hex.length > n ? `${hex.slice(0, n)}…` : hex;
}

/**
 * Calls `fn` now and then every `ms` while the page is visible, never two at
 * once. Returns a function that stops it. `fn` may return false to stop.
 */
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  let running = false;
  const tick = async () => {
    timer = null;
    if (stopped || running) return;
    if (document.hidden) {
      timer = setTimeout(tick, ms);
      return;
    }
    running = true;
    let again = true;
    try {
      again = (await fn()) !== false;
    } catch (err) {
      console.error(err);
    } finally {
      running = false;
    }
    if (again && !stopped) timer = setTimeout(tick, ms);
  };
  const onVisible = () => {
    if (!document.hidden && timer !== null && !running) {
      clearTimeout(timer);
      tick();
    }
  };
  document.addEventListener('visibilitychange', onVisible);
  tick();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/** A small "Live" marker: lit while polling answers, dimmed when it fails. */
export function liveIndicator(el) {
  return {
    ok() {
      if (!el) return;
      el.hidden = false;
      el.classList.remove('stale');
      el.textContent = 'Live';
      el.title = `Updated ${new Date().toLocaleTimeString()}`;
    },
    failed() {
      if (!el) return;
      el.hidden = false;
      el.classList.add('stale');
      el.textContent = 'Offline';
    },
    done() {
      if (el) el.hidden = true;
    },
  };
}

/** The job page's path. */
export function jobPath(id) {
  return `/console/jobs/${encodeURIComponent(id)}`;
}

/** A submission's page (one upload, several engines). */
export function submissionPath(id) {
  return `/console/submissions/${encodeURIComponent(id)}`;
}

/** A small "Cached" badge: the job's result was served from an earlier identical run. */
export function cachedBadge() {
  return h('span', { class: 'badge cached', title: 'Served from the cache: no container ran for this job', text: 'Cached' });
}

/** A node's card on the nodes page. */
export function nodePath(name) {
  return `/console/nodes#node-${encodeURIComponent(name)}`;
}
