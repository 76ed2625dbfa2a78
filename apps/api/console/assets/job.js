// Job page: status and timeline from GET /jobs/<id> (every second until the
// job ends), then the result preview and the engine's full log.
import {
  ApiError,
  UUID,
  api,
  between,
  cachedBadge,
  errorText,
  fill,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  h,
  isFinal,
  jobPath,
  nodePath,
  notice,
  poll,
  shortHash,
  statusBadge,
  submissionPath,
} from './console.js';

const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const article = document.getElementById('job');
const error = document.getElementById('error');
const title = document.getElementById('job-name');
const sub = document.getElementById('job-sub');
const actions = document.getElementById('actions');
const timeline = document.getElementById('timeline');
const jobError = document.getElementById('job-error');
const details = document.getElementById('details');
const preview = document.getElementById('preview');
const resultMeta = document.getElementById('result-meta');
const logBox = document.getElementById('log');
const logMeta = document.getElementById('log-meta');
const crumbSubmission = document.getElementById('crumb-submission');
const submissionLink = document.getElementById('submission-link');
const cacheNote = document.getElementById('cache-note');

const FINAL_LABELS = { completed: 'Completed', failed: 'Failed', timed_out: 'Timed out', cancelled: 'Cancelled' };

let job = null;
let endLoaded = false;
let cancelling = false;
let retrying = false;

function step(state, label, iso, note) {
  return h(
    'li',
    { class: `step ${state}`, dataset: { step: label.toLowerCase().replace(/\s+/g, '_') } },
    h('span', { class: 'marker', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'step-body' },
      h('strong', { text: label }),
      h(
        'span',
        { class: 'step-time' },
        iso ? h('time', { datetime: iso, text: formatDate(iso) }) : state === 'skipped' ? 'skipped' : 'pending',
      ),
      note ? h('span', { class: 'step-note', text: note }) : null,
    ),
  );
}

/**
 * queued → running → final. A step is done once it happened; the one the
 * job is in now is current; "Running" is skipped for a job that ended
 * without ever starting (cancelled while queued, image missing).
 */
function renderTimeline(j) {
  const now = new Date().toISOString();
  const final = isFinal(j.status);
  // A cache hit never ran: it ends the moment it is stored (its startedAt is only that moment).
  const started = j.cached ? null : j.startedAt;
  const waited = between(j.createdAt, started ?? (j.status === 'queued' ? now : null));
  const ran = started ? between(started, j.finishedAt ?? now) : null;
  const total = final ? between(j.createdAt, j.finishedAt) : null;

  const queuedNote =
    j.status === 'queued' ? `waiting for ${formatDuration(waited)}` : j.cached ? 'upload stored' : 'upload stored, workflow started';
  const runningNote = j.cached
    ? 'no container ran: served from the cache'
    : started
      ? `waited ${formatDuration(waited)} in the queue` + (j.status === 'running' ? ` · running for ${formatDuration(ran)}` : '')
      : final
        ? 'never started'
        : null;
  const finalNote = !final
    ? null
    : ran !== null
      ? `ran ${formatDuration(ran)} · ${formatDuration(total)} in all`
      : `${formatDuration(total)} in all`;
  fill(
    timeline,
    step(j.status === 'queued' ? 'current' : 'done', 'Queued', j.createdAt, queuedNote),
    step(j.status === 'running' ? 'current' : started ? 'done' : final ? 'skipped' : 'pending', 'Running', started, runningNote),
    step(
      final ? `done ${j.status === 'completed' ? 'ok' : 'bad'}` : 'pending',
      final ? FINAL_LABELS[j.status] : 'Finished',
      j.finishedAt,
      finalNote,
    ),
  );
}

function item(label, value, opts = {}) {
  return h(
    'div',
    { class: `detail${opts.wide ? ' wide' : ''}`, dataset: { field: opts.field } },
    h('dt', { text: label }),
    h('dd', { class: [opts.mono ? 'mono' : '', 'breakable'].join(' ').trim(), title: opts.title }, value ?? '—'),
  );
}

function renderDetails(j) {
  fill(
    details,
    item('File name', j.input.name, { wide: true, field: 'name' }),
    item('Size', `${formatBytes(j.input.size)} (${formatCount(j.input.size)} bytes)`, { field: 'size' }),
    item('Detected type', j.input.mime ?? 'not recorded', { mono: true, field: 'mime' }),
    item('Engine', j.engine, { field: 'engine' }),
    item(
      'Node',
      j.node
        ? h('a', { href: nodePath(j.node), text: j.node })
        : j.cached
          ? 'none: no container ran'
          : isFinal(j.status)
            ? 'not recorded'
            : 'known when the job starts',
      { field: 'node' },
    ),
    item(
      'SHA-256',
      [
        j.input.sha256,
        h('a', { class: 'also', href: `/console/jobs?q=${encodeURIComponent(j.input.sha256)}`, text: 'All analyses of this file' }),
      ],
      { mono: true, wide: true, field: 'sha256' },
    ),
    item('Job id', j.jobid, { mono: true, wide: true, field: 'jobid' }),
    item('Image', j.image, { mono: true, wide: true, field: 'image' }),
    item('Image digest', j.imageDigest ?? (isFinal(j.status) ? 'not resolved' : 'resolved when the job starts'), {
      mono: true,
      wide: true,
      field: 'digest',
    }),
    item('Exit code', j.exitCode === null ? '—' : String(j.exitCode), { field: 'exit' }),
    item('Cache', cacheFact(j), { field: 'cache' }),
    j.submission
      ? item('Submission', h('a', { href: submissionPath(j.submission.id), class: 'mono', text: j.submission.id }), {
          wide: true,
          field: 'submission',
        })
      : null,
    item(
      'Result',
      j.result
        ? `${j.result.name} · ${formatBytes(j.result.size)}`
        : j.expiredAt
          ? 'removed by retention'
          : isFinal(j.status)
            ? 'none'
            : 'not yet',
      { field: 'result' },
    ),
    j.expiredAt ? item('Files removed', formatDate(j.expiredAt), { field: 'expired' }) : null,
  );
}

/** How the cache served (or did not serve) this job, for the details. */
function cacheFact(j) {
  if (j.cached && j.cachedFrom) return ['hit: served from job ', jobLink(j.cachedFrom)];
  if (j.waitingFor) return ['waiting for identical job ', jobLink(j.waitingFor)];
  if (j.forced) return 'bypassed: run again on request (force)';
  return j.startedAt ? 'not used: the engine ran' : 'not used';
}

function jobLink(other) {
  return h('a', { href: jobPath(other), class: 'mono', title: other, text: shortHash(other, 8) });
}

/** The links the job has to others: its submission (in the crumbs), and the job it was served from or waits for. */
function renderRelations(j) {
  crumbSubmission.hidden = !j.submission;
  if (j.submission) submissionLink.setAttribute('href', submissionPath(j.submission.id));
  if (j.cached && j.cachedFrom) {
    fill(
      cacheNote,
      'Cached: served from job ',
      h('a', { href: jobPath(j.cachedFrom), id: 'cached-from', class: 'mono', text: j.cachedFrom }),
      ". No container ran for this job: its result and log are that job's.",
    );
  } else if (j.waitingFor) {
    fill(
      cacheNote,
      'Queued behind an identical job, ',
      h('a', { href: jobPath(j.waitingFor), id: 'waiting-for', class: 'mono', text: j.waitingFor }),
      ": when it completes, its result is this one's too.",
    );
  }
  cacheNote.hidden = !((j.cached && j.cachedFrom) || j.waitingFor);
  const retryNote = document.getElementById('retry-note');
  const retryParts = [];
  if (j.retryOf)
    retryParts.push('A retry of job ', h('a', { href: jobPath(j.retryOf), id: 'retry-of', class: 'mono', text: j.retryOf }), '. ');
  if (j.retriedAs)
    retryParts.push('Run again as job ', h('a', { href: jobPath(j.retriedAs), id: 'retried-as', class: 'mono', text: j.retriedAs }), '.');
  fill(retryNote, ...retryParts);
  retryNote.hidden = retryParts.length === 0;
}

function renderActions(j) {
  const nodes = [];
  if (j.result) {
    nodes.push(
      h('a', { class: 'button primary', id: 'download', href: `/link/${encodeURIComponent(j.jobid)}`, download: '' }, 'Download result'),
    );
  }
  if (!isFinal(j.status)) {
    nodes.push(
      h(
        'button',
        { type: 'button', class: 'button danger-outline', id: 'cancel', disabled: cancelling, on: { click: cancel } },
        cancelling ? 'Cancelling…' : 'Cancel job',
      ),
    );
  }
  if (isFinal(j.status) && !j.expiredAt) {
    nodes.push(
      h(
        'button',
        { type: 'button', class: 'button subtle', id: 'retry', disabled: retrying, on: { click: retry } },
        retrying ? 'Starting…' : 'Run again',
      ),
    );
  }
  // A hit served at upload (or from the identical job it waited for) never had a workflow.
  if (j.temporalUrl)
    nodes.push(
      h(
        'a',
        { class: 'button subtle', id: 'temporal', href: j.temporalUrl, target: '_blank', rel: 'noopener noreferrer' },
        'Open in Temporal ↗',
      ),
    );
  fill(actions, ...nodes);
}

function render(j) {
  document.title = `${j.input.name} · Menagerie`;
  title.textContent = j.input.name;
  fill(
    sub,
    statusBadge(j.status),
    j.cached ? cachedBadge() : null,
    h('span', { text: ` ${j.engine} · ` }),
    h('span', { class: 'mono', text: j.jobid }),
  );
  renderActions(j);
  renderRelations(j);
  renderTimeline(j);
  notice(jobError, j.error);
  renderDetails(j);
  resultMeta.textContent = j.result ? `${j.result.name} · ${formatBytes(j.result.size)} · ${j.result.mime}` : '';
  article.setAttribute('aria-busy', 'false');
  document.body.dataset.status = j.status;
}

/** POST /jobs/<id>/retry: a new job on the same input; the page moves to it. */
async function retry() {
  if (!job || retrying) return;
  retrying = true;
  renderActions(job);
  try {
    const again = await api(`/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    window.location.assign(jobPath(again.jobid));
  } catch (err) {
    notice(error, `Could not run it again: ${errorText(err)}`);
    retrying = false;
    if (job) renderActions(job);
  }
}

async function cancel() {
  if (!job || cancelling) return;
  cancelling = true;
  renderActions(job);
  try {
    job = await api(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    render(job);
  } catch (err) {
    notice(error, `Could not cancel: ${errorText(err)}`);
  } finally {
    cancelling = false;
    if (job) renderActions(job);
  }
}

// ---------------------------------------------------------------- preview

function renderArchive(p) {
  const filter = h('input', {
    type: 'search',
    class: 'entry-filter',
    placeholder: 'Filter entries',
    'aria-label': 'Filter entries',
    spellcheck: 'false',
  });
  const body = h('tbody');
  const files = p.entries.filter((e) => e.type !== 'directory').length;
  const showEntries = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = needle ? p.entries.filter((e) => e.name.toLowerCase().includes(needle)) : p.entries;
    body.replaceChildren(
      ...shown.map((e) =>
        h(
          'tr',
          { dataset: { type: e.type } },
          h('td', { class: 'mono breakable entry-name', text: e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name }),
          h(
            'td',
            { class: 'num', title: e.size === null ? undefined : `${e.size} bytes` },
            e.type === 'directory' ? 'dir' : e.type === 'symlink' ? 'link' : formatBytes(e.size),
          ),
        ),
      ),
    );
  };
  filter.addEventListener('input', showEntries);
  showEntries();
  return [
    h(
      'div',
      { class: 'preview-bar' },
      h('span', { class: 'muted', text: `${p.format} archive · ${formatCount(p.entries.length)} entries (${formatCount(files)} files)` }),
      filter,
    ),
    p.truncated ? h('p', { class: 'notice small', text: p.note ?? 'Not every entry is listed.' }) : null,
    h(
      'div',
      { class: 'scroll-box' },
      h(
        'table',
        { class: 'entries' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { class: 'num', text: 'Size' }))),
        body,
      ),
    ),
  ];
}

function renderPreview(p) {
  preview.dataset.kind = p.kind;
  switch (p.kind) {
    case 'json':
      return fill(
        preview,
        h('p', { class: 'muted small', text: 'JSON, pretty-printed' }),
        p.note ? h('p', { class: 'notice small', id: 'preview-note', text: p.note }) : null,
        h('pre', { class: 'code scroll-box', id: 'preview-json', text: p.text }),
      );
    case 'text':
      return fill(
        preview,
        h('p', { class: 'muted small', text: p.truncated ? `Text · only the beginning of ${formatBytes(p.size)} is shown` : 'Text' }),
        h('pre', { class: 'code scroll-box', id: 'preview-text', text: p.text }),
      );
    case 'archive':
      return fill(preview, ...renderArchive(p));
    case 'binary':
      return fill(
        preview,
        h('p', {
          class: 'muted small',
          text: `Binary${p.note ? ` (${p.note})` : ''} · the first ${p.bytes} of ${formatCount(p.size)} bytes`,
        }),
        h('pre', { class: 'code hex scroll-box', id: 'preview-hex', text: p.hex }),
      );
    default:
      return fill(preview, h('p', { class: 'muted', text: p.reason ? `No result to show: ${p.reason}.` : 'No result to show.' }));
  }
}

async function loadPreview() {
  fill(preview, h('p', { class: 'muted', text: 'Loading the preview…' }));
  try {
    renderPreview(await api(`/console/api/jobs/${encodeURIComponent(id)}/preview`));
  } catch (err) {
    fill(preview, h('p', { class: 'notice danger', text: `Could not load the preview: ${errorText(err)}` }));
  }
}

async function loadLog() {
  try {
    const res = await fetch(`/console/api/jobs/${encodeURIComponent(id)}/log`, { cache: 'no-store' });
    if (res.status === 204) {
      fill(logBox, h('p', { class: 'muted', text: 'No log was stored for this job.' }));
      return;
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new ApiError(res.status, body.error ?? `HTTP_${res.status}`, body.message ?? res.statusText);
    }
    const text = await res.text();
    const size = Number(res.headers.get('X-Log-Size') ?? text.length);
    logMeta.textContent = `${formatBytes(size)}${res.headers.get('X-Log-Truncated') === 'true' ? ' · first part shown' : ''}`;
    fill(
      logBox,
      text
        ? h('pre', { class: 'code log scroll-box', id: 'log-text', text })
        : h('p', { class: 'muted', text: 'The engine printed nothing.' }),
    );
  } catch (err) {
    fill(logBox, h('p', { class: 'notice danger', text: `Could not load the log: ${errorText(err)}` }));
  }
}

// ---------------------------------------------------------------- webhooks

const webhooksTable = document.getElementById('webhooks');
const webhookRows = document.getElementById('webhook-rows');
const webhooksEmpty = document.getElementById('webhooks-empty');
const webhooksMeta = document.getElementById('webhooks-meta');
const DELIVERY_BADGES = { pending: 'status-queued', delivering: 'status-running', delivered: 'ok', failed: 'bad' };
const DELIVERY_LABELS = { pending: 'Pending', delivering: 'Retrying', delivered: 'Delivered', failed: 'Given up' };
/** Rounds after the end with no delivery yet (they are made within a moment of it) before the page stops asking. */
let webhookChecksLeft = 5;

function attemptLine(a) {
  const outcome = a.statusCode === null ? 'no answer' : `HTTP ${a.statusCode}`;
  return h(
    'li',
    { class: 'attempt', dataset: { attempt: String(a.attempt) } },
    h('span', { class: 'mono', text: `#${a.attempt} ` }),
    h('time', { datetime: a.at, text: formatDate(a.at) }),
    h('span', { text: ` · ${outcome} · ${a.latencyMs} ms` }),
    a.error ? h('span', { class: 'muted breakable', text: ` · ${a.error}` }) : null,
  );
}

function renderWebhooks(deliveries) {
  webhooksTable.hidden = deliveries.length === 0;
  webhooksEmpty.hidden = deliveries.length > 0;
  webhooksMeta.textContent = deliveries.length
    ? `${deliveries.filter((d) => d.status === 'delivered').length} of ${deliveries.length} delivered`
    : '';
  fill(
    webhookRows,
    ...deliveries.map((d) =>
      h(
        'tr',
        { dataset: { delivery: d.deliveryId, status: d.status } },
        h('td', { class: 'mono', text: d.event }),
        h(
          'td',
          {},
          h('span', { class: 'mono breakable', text: d.url }),
          h('span', { class: 'muted', text: d.receiver === 'callback' ? ' (callback)' : ' (target)' }),
        ),
        h('td', {}, h('span', { class: `badge ${DELIVERY_BADGES[d.status] ?? ''}`, text: DELIVERY_LABELS[d.status] ?? d.status })),
        h(
          'td',
          {},
          d.attempts.length
            ? h('ol', { class: 'attempts' }, ...d.attempts.map(attemptLine))
            : h('span', { class: 'muted', text: 'none yet' }),
        ),
      ),
    ),
  );
}

/** GET /jobs/<id>/webhooks, again while a delivery is still being tried. */
function followWebhooks() {
  poll(async () => {
    let deliveries;
    try {
      deliveries = await api(`/jobs/${encodeURIComponent(id)}/webhooks`);
    } catch (err) {
      webhooksMeta.textContent = `Could not load the deliveries: ${errorText(err)}`;
      return true;
    }
    renderWebhooks(deliveries);
    if (deliveries.some((d) => d.status === 'pending' || d.status === 'delivering')) return true;
    return deliveries.length === 0 && webhookChecksLeft-- > 0;
  }, 2000);
}

// ---------------------------------------------------------------- polling

if (!UUID.test(id)) {
  title.textContent = 'No such job';
  notice(error, 'This address does not name a job: job ids are UUIDs.');
} else {
  poll(async () => {
    try {
      job = await api(`/jobs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
        title.textContent = 'No such job';
        notice(error, errorText(err));
        article.setAttribute('aria-busy', 'false');
        return false;
      }
      notice(error, `Could not refresh the job: ${errorText(err)}`);
      return true;
    }
    notice(error, null);
    render(job);
    if (!isFinal(job.status)) return true;
    if (!endLoaded) {
      endLoaded = true;
      followWebhooks();
      await Promise.all([loadPreview(), loadLog()]);
      document.body.dataset.ready = 'true';
    }
    return false;
  }, 1000);
}
