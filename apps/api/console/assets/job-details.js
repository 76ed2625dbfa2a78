// The job page's details (the input, the engine, the cache, the result) and
// its links to other jobs: its submission, the job it was served from or
// waits for, the job it retried or was retried as.
import { fill, formatBytes, formatCount, formatDate, h, isFinal, jobPath, nodePath, shortHash, submissionPath } from './console.js';

const details = document.getElementById('details');
const crumbSubmission = document.getElementById('crumb-submission');
const submissionLink = document.getElementById('submission-link');
const cacheNote = document.getElementById('cache-note');

function item(label, value, opts = {}) {
  return h(
    'div',
    { class: `detail${opts.wide ? ' wide' : ''}`, dataset: { field: opts.field } },
    h('dt', { text: label }),
    h('dd', { class: [opts.mono ? 'mono' : '', 'breakable'].join(' ').trim(), title: opts.title }, value ?? '—'),
  );
}

export function renderDetails(j) {
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
export function renderRelations(j) {
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
