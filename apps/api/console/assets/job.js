// Job page: status and timeline from GET /jobs/<id> (every second until the
// job ends), then the result preview and the engine's full log. This module
// holds the page's state, its header and actions, and the polling; each
// section is drawn by a module of its own (job-timeline, job-details,
// job-report, job-result, job-webhooks).
import {
  ApiError,
  UUID,
  api,
  cachedBadge,
  errorText,
  fill,
  formatBytes,
  h,
  isFinal,
  jobPath,
  notice,
  poll,
  statusBadge,
} from './console.js';
import { renderDetails, renderRelations } from './job-details.js';
import { loadReport, renderReport } from './job-report.js';
import { loadLog, loadPreview } from './job-result.js';
import { renderTimeline } from './job-timeline.js';
import { followWebhooks } from './job-webhooks.js';

const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const article = document.getElementById('job');
const error = document.getElementById('error');
const title = document.getElementById('job-name');
const sub = document.getElementById('job-sub');
const actions = document.getElementById('actions');
const jobError = document.getElementById('job-error');
const resultMeta = document.getElementById('result-meta');

let job = null;
let endLoaded = false;
let cancelling = false;
let retrying = false;

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
  renderReport(j);
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
      followWebhooks(id);
      await Promise.all([loadPreview(id), loadLog(id), loadReport(job)]);
      document.body.dataset.ready = 'true';
    }
    return false;
  }, 1000);
}
