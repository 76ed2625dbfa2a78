// Submission page: one uploaded file, one job per engine. Follows
// GET /submission/<id>?wait=2 in a loop until its status is final; "Cancel
// remaining" is DELETE /submission/<id>. Every engine's verdict is drawn by
// submission-verdicts.js.
import {
  ApiError,
  FINAL_STATUSES,
  JOB_STATUSES,
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
  liveIndicator,
  notice,
  shortHash,
  statusBadge,
} from './console.js';
import { renderVerdicts } from './submission-verdicts.js';

const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const article = document.getElementById('submission');
const error = document.getElementById('error');
const title = document.getElementById('sub-name');
const line = document.getElementById('sub-line');
const cancelButton = document.getElementById('cancel');
const summary = document.getElementById('summary');
const summaryText = document.getElementById('summary-text');
const rows = document.getElementById('rows');
const empty = document.getElementById('empty');
const details = document.getElementById('details');
const live = liveIndicator(document.getElementById('live'));

/**
 * Seconds each request may wait (the API's ?wait). The API answers at once when
 * every job has ended, else only when the wait is over: a short wait keeps each
 * engine's row live (a job that starts or ends shows within 2 s), and the end
 * still shows as it happens.
 */
const WAIT_SECONDS = 2;
/** Requests start at least this far apart, whatever the server answers. */
const MIN_GAP_MS = 1000;
const SUBMISSION_FINAL = ['completed', 'completed_with_failures', 'failed'];
/** The summary's counters: the jobs, each status (`timed out` for timed_out), the cache hits. */
const COUNTS = [['total', 'jobs'], ...JOB_STATUSES.map((status) => [status, status.replace('_', ' ')]), ['cached', 'from the cache']];

let submission = null;
let cancelling = false;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function item(label, value, opts = {}) {
  return h(
    'div',
    { class: `detail${opts.wide ? ' wide' : ''}`, dataset: { field: opts.field } },
    h('dt', { text: label }),
    h('dd', { class: [opts.mono ? 'mono' : '', 'breakable'].join(' ').trim() }, value ?? '—'),
  );
}

function renderDetails(s) {
  const requested =
    s.requested === 'auto'
      ? 'auto: every engine that accepts the file'
      : String(s.requested ?? '')
          .split(',')
          .join(', ');
  fill(
    details,
    item('File name', s.input.name, { wide: true, field: 'name' }),
    item('Size', `${formatBytes(s.input.size)} (${formatCount(s.input.size)} bytes)`, { field: 'size' }),
    item('Detected type', s.input.mime ?? 'not detected', { mono: true, field: 'mime' }),
    item(
      'SHA-256',
      [
        s.input.sha256,
        h('a', { class: 'also', href: `/console/jobs?q=${encodeURIComponent(s.input.sha256)}`, text: 'All analyses of this file' }),
      ],
      { mono: true, wide: true, field: 'sha256' },
    ),
    item('Engines asked', requested, { field: 'requested' }),
    item('Cache', s.forced ? 'bypassed: every engine ran again' : 'used where a result was held', { field: 'forced' }),
    item('Submitted', formatDate(s.createdAt), { field: 'created' }),
    item('Submission id', s.submissionId, { mono: true, wide: true, field: 'submissionid' }),
    s.expiredAt ? item('File removed', formatDate(s.expiredAt), { field: 'expired' }) : null,
  );
}

function duration(job) {
  if (job.finishedAt) return formatDuration(between(job.startedAt ?? job.createdAt, job.finishedAt));
  if (job.status === 'running' && job.startedAt) return `${formatDuration(Date.now() - new Date(job.startedAt).getTime())}…`;
  return '—';
}

function statusCell(job) {
  const notes = [];
  if (job.cached) {
    notes.push(' ', cachedBadge());
    if (job.cachedFrom)
      notes.push(
        h(
          'span',
          { class: 'cell-note' },
          'from job ',
          h('a', { href: jobPath(job.cachedFrom), class: 'mono', title: job.cachedFrom, text: shortHash(job.cachedFrom, 8) }),
        ),
      );
  } else if (job.waitingFor) {
    notes.push(
      h(
        'span',
        { class: 'cell-note' },
        'waiting for identical job ',
        h('a', { href: jobPath(job.waitingFor), class: 'mono', title: job.waitingFor, text: shortHash(job.waitingFor, 8) }),
      ),
    );
  }
  return h('td', { class: 'status', dataset: { label: 'Status' } }, statusBadge(job.status), ...notes);
}

function resultCell(job) {
  let content;
  if (job.result) {
    content = h(
      'a',
      { class: 'download breakable', href: `/link/${encodeURIComponent(job.jobid)}`, download: '', title: `Download ${job.result.name}` },
      `${job.result.name} · ${formatBytes(job.result.size)}`,
    );
  } else if (job.error) {
    content = h('span', { class: 'muted breakable cell-error', text: job.error });
  } else {
    content = h('span', { class: 'muted', text: isFinal(job.status) ? 'none' : 'not yet' });
  }
  return h('td', { class: 'result', dataset: { label: 'Result' } }, content);
}

function row(job) {
  return h(
    'tr',
    { dataset: { jobid: job.jobid, engine: job.engine, status: job.status, cached: String(Boolean(job.cached)) } },
    h('td', { class: 'engine-name', dataset: { label: 'Engine' } }, h('strong', { text: job.engine })),
    statusCell(job),
    h(
      'td',
      { class: 'job', dataset: { label: 'Job' } },
      h('a', { href: jobPath(job.jobid), class: 'job-link mono', title: job.jobid, text: shortHash(job.jobid, 8) }),
    ),
    resultCell(job),
    h('td', { class: 'num', dataset: { label: 'Duration' } }, duration(job)),
  );
}

function renderSummary(s) {
  const counts = s.summary ?? {};
  fill(
    summary,
    ...COUNTS.filter(([key]) => key === 'total' || counts[key] > 0).map(([key, label]) =>
      h('div', { class: 'counter', dataset: { count: key } }, h('strong', { text: formatCount(counts[key] ?? 0) }), label),
    ),
  );
  const ended = FINAL_STATUSES.reduce((n, status) => n + (counts[status] ?? 0), 0);
  summaryText.textContent = `${formatCount(ended)} of ${formatCount(counts.total ?? s.jobs.length)} ended`;
}

function renderCancel(s) {
  const open = !SUBMISSION_FINAL.includes(s.status) && s.jobs.some((j) => !isFinal(j.status));
  cancelButton.hidden = !open;
  cancelButton.disabled = cancelling;
  cancelButton.textContent = cancelling ? 'Cancelling…' : 'Cancel remaining';
}

function render(s) {
  submission = s;
  document.title = `${s.input.name} · Menagerie`;
  title.textContent = s.input.name;
  const n = s.jobs.length;
  fill(
    line,
    statusBadge(s.status),
    h('span', { text: ` ${n} ${n === 1 ? 'engine' : 'engines'} · ` }),
    h('span', { class: 'mono', text: s.submissionId }),
  );
  renderCancel(s);
  renderVerdicts(s.jobs);
  renderSummary(s);
  rows.replaceChildren(...s.jobs.map(row));
  empty.hidden = n > 0;
  renderDetails(s);
  article.setAttribute('aria-busy', 'false');
  document.body.dataset.status = s.status;
}

async function cancel() {
  if (!submission || cancelling) return;
  cancelling = true;
  renderCancel(submission);
  try {
    const answer = await api(`/submission/${encodeURIComponent(id)}`, { method: 'DELETE' });
    cancelling = false;
    render(answer);
  } catch (err) {
    notice(error, `Could not cancel: ${errorText(err)}`);
  } finally {
    cancelling = false;
    if (submission) renderCancel(submission);
  }
}
cancelButton.addEventListener('click', cancel);

/** Asks again and again (each a long poll) until the submission's status is final. */
async function follow() {
  let wait = 0; // the first answer at once, to show the page
  for (;;) {
    const started = Date.now();
    let s;
    try {
      s = await api(`/submission/${encodeURIComponent(id)}${wait ? `?wait=${wait}` : ''}`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
        title.textContent = 'No such submission';
        notice(error, errorText(err));
        article.setAttribute('aria-busy', 'false');
        live.done();
        return;
      }
      live.failed();
      notice(error, `Could not refresh the submission: ${errorText(err)}`);
      await delay(2000);
      continue;
    }
    live.ok();
    notice(error, null);
    render(s);
    if (SUBMISSION_FINAL.includes(s.status)) {
      live.done();
      document.body.dataset.ready = 'true';
      return;
    }
    wait = WAIT_SECONDS;
    await delay(Math.max(0, MIN_GAP_MS - (Date.now() - started)));
  }
}

if (!UUID.test(id)) {
  title.textContent = 'No such submission';
  notice(error, 'This address does not name a submission: submission ids are UUIDs.');
  article.setAttribute('aria-busy', 'false');
} else {
  follow();
}
