// Jobs page: the history, newest first, from GET /console/api/jobs; filters and
// search live in the URL; the page refreshes itself every 2 s. Older and Newer
// follow the answer's cursors (`next`, `prev`), so a page deep in the history
// costs what the first does and does not shift while new jobs arrive; the
// page number is only shown. Each row shows its report's verdict; the tag
// filter (`tag=<type>:<value>`, as a report's tag links give it) finds the
// jobs whose report has that tag.
import {
  ApiError,
  api,
  between,
  cachedBadge,
  errorText,
  formatBytes,
  formatCount,
  formatDuration,
  h,
  isFinal,
  jobPath,
  liveIndicator,
  nodePath,
  notice,
  poll,
  shortHash,
  statusBadge,
  timeAgo,
} from './console.js';
import { verdictBadge } from './reports.js';

const form = document.getElementById('filters');
const q = document.getElementById('q');
const engineSelect = document.getElementById('engine');
const statusSelect = document.getElementById('status');
const tagInput = document.getElementById('tag');
const rows = document.getElementById('rows');
const empty = document.getElementById('empty');
const error = document.getElementById('error');
const summary = document.getElementById('summary');
const pageInfo = document.getElementById('page-info');
const prev = document.getElementById('prev');
const next = document.getElementById('next');
const live = liveIndicator(document.getElementById('live'));

const params = new URLSearchParams(location.search);
const state = {
  q: params.get('q') ?? '',
  engine: params.get('engine') ?? '',
  status: params.get('status') ?? '',
  tag: params.get('tag') ?? '',
  page: Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1),
  cursor: params.get('cursor') ?? '',
  limit: Math.min(100, Math.max(1, Number.parseInt(params.get('limit') ?? '20', 10) || 20)),
};
/** The API searches names by parts of at least this many characters (MIN_SEARCH_LENGTH). */
const MIN_SEARCH = 3;
let cursors = { next: null, prev: null };
let seq = 0;
/** A search the API refused (400: a filter it can't take), not asked again until the filters change. */
let refused = null;

q.value = state.q;
tagInput.value = state.tag;
statusSelect.value = state.status;

function ensureEngineOption(name) {
  if (!name || [...engineSelect.options].some((o) => o.value === name)) return;
  engineSelect.append(h('option', { value: name, text: name }));
}
ensureEngineOption(state.engine);
engineSelect.value = state.engine;

api('/engines')
  .then(({ engines }) => {
    for (const e of engines) ensureEngineOption(e.name);
    engineSelect.value = state.engine;
  })
  .catch(() => undefined);

function syncUrl() {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.engine) p.set('engine', state.engine);
  if (state.status) p.set('status', state.status);
  if (state.tag) p.set('tag', state.tag);
  if (state.page > 1) p.set('page', String(state.page));
  if (state.cursor) p.set('cursor', state.cursor);
  if (state.limit !== 20) p.set('limit', String(state.limit));
  const search = p.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
}

function duration(job) {
  if (job.finishedAt) return formatDuration(between(job.startedAt ?? job.createdAt, job.finishedAt));
  if (job.status === 'running' && job.startedAt) return `${formatDuration(Date.now() - new Date(job.startedAt).getTime())}…`;
  return '—';
}

function cell(label, ...children) {
  return h('td', { dataset: { label } }, ...children);
}

function row(job) {
  return h(
    'tr',
    { dataset: { jobid: job.jobid, status: job.status, cached: String(Boolean(job.cached)) } },
    cell('Status', statusBadge(job.status), job.cached ? cachedBadge() : null),
    h('td', { class: 'verdict-cell', dataset: { label: 'Verdict' } }, verdictBadge(job.report?.verdict, job.report?.reason)),
    h(
      'td',
      { class: 'file', dataset: { label: 'File' } },
      h('a', { href: jobPath(job.jobid), class: 'job-link breakable', title: job.input.name, text: job.input.name }),
    ),
    cell('Engine', job.engine),
    h(
      'td',
      { class: 'node', dataset: { label: 'Node' } },
      job.node ? h('a', { href: nodePath(job.node), class: 'breakable', text: job.node }) : h('span', { class: 'muted', text: '—' }),
    ),
    h('td', { class: 'num', dataset: { label: 'Size' }, title: `${job.input.size} bytes` }, formatBytes(job.input.size)),
    h('td', { class: 'mono hash', dataset: { label: 'SHA-256' }, title: job.input.sha256 }, shortHash(job.input.sha256)),
    cell('Created', timeAgo(job.createdAt)),
    h('td', { class: 'num', dataset: { label: 'Duration' } }, duration(job)),
  );
}

async function load() {
  const mine = ++seq;
  // With a cursor, the page number is only ours to show.
  const p = new URLSearchParams(state.cursor ? { cursor: state.cursor } : { page: String(state.page) });
  p.set('limit', String(state.limit));
  const short = state.q.length > 0 && state.q.length < MIN_SEARCH;
  if (state.q && !short) p.set('q', state.q);
  if (state.engine) p.set('engine', state.engine);
  if (state.status) p.set('status', state.status);
  if (state.tag) p.set('tag', state.tag);
  if (p.toString() === refused) return;
  let answer;
  try {
    answer = await api(`/console/api/jobs?${p}`);
  } catch (err) {
    if (mine !== seq) return;
    // A filter refused is the filter's fault, not the connection's.
    if (err instanceof ApiError && err.status === 400) refused = p.toString();
    else live.failed();
    notice(error, `Could not load the jobs: ${errorText(err)}`);
    return;
  }
  if (mine !== seq) return; // a newer request (filters changed) wins
  live.ok();
  notice(error, null);
  cursors = { next: answer.next, prev: answer.prev };
  // An estimate (totalExact false) is said as one.
  const about = answer.totalExact ? '' : 'about ';
  const pages = Math.max(1, answer.pages, state.page);
  rows.replaceChildren(...answer.items.map(row));
  empty.hidden = answer.items.length > 0;
  const filtered = (state.q && !short) || state.engine || state.status || state.tag;
  const count = `${about}${formatCount(answer.total)} ${answer.total === 1 ? 'job' : 'jobs'}${filtered ? ' match' : ''}, newest first.`;
  summary.textContent = short
    ? `Type at least ${MIN_SEARCH} characters to search. ${count}`
    : count.charAt(0).toUpperCase() + count.slice(1);
  pageInfo.textContent = `Page ${state.page} of ${about}${formatCount(pages)}`;
  prev.disabled = state.page <= 1;
  next.disabled = !answer.next;
  document.getElementById('pager').hidden = !answer.next && state.page <= 1;
  document.body.dataset.loaded = 'true';
  // Show whether anything on screen is still moving.
  document.body.dataset.active = String(answer.items.some((j) => !isFinal(j.status)));
}

function changed() {
  state.page = 1;
  state.cursor = '';
  syncUrl();
  load();
}

let debounce = null;
q.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    state.q = q.value.trim();
    changed();
  }, 250);
});
tagInput.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    state.tag = tagInput.value.trim();
    changed();
  }, 250);
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(debounce);
  state.q = q.value.trim();
  state.tag = tagInput.value.trim();
  changed();
});
engineSelect.addEventListener('change', () => {
  state.engine = engineSelect.value;
  changed();
});
statusSelect.addEventListener('change', () => {
  state.status = statusSelect.value;
  changed();
});
form.addEventListener('reset', (e) => {
  e.preventDefault();
  q.value = '';
  engineSelect.value = '';
  statusSelect.value = '';
  tagInput.value = '';
  Object.assign(state, { q: '', engine: '', status: '', tag: '' });
  changed();
});
prev.addEventListener('click', () => {
  if (state.page <= 1) return;
  state.page--;
  // Page 1 is the newest jobs, asked without a cursor, so it shows jobs that arrived meanwhile.
  state.cursor = state.page === 1 ? '' : (cursors.prev ?? '');
  if (!state.cursor) state.page = 1;
  syncUrl();
  load();
});
next.addEventListener('click', () => {
  if (!cursors.next) return;
  state.page++;
  state.cursor = cursors.next;
  syncUrl();
  load();
});

poll(load, 2000);
