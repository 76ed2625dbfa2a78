// The submission page's verdicts: every engine's verdict side by side (from
// each job's report digest), worst first, with the worst of the submission
// above them. An engine's words (reason, summary) are drawn as text only.
import { fill, h, isFinal, jobPath, statusBadge } from './console.js';
import { fillVerdictBanner, verdictBadge, verdictRank, worstVerdict } from './reports.js';

const banner = document.getElementById('worst-verdict');
const rows = document.getElementById('verdict-rows');
const meta = document.getElementById('verdicts-meta');
const panel = document.getElementById('verdicts');

function row(job) {
  const report = job.report;
  const none = isFinal(job.status) ? 'no report' : 'not yet';
  return h(
    'tr',
    { dataset: { jobid: job.jobid, engine: job.engine, verdict: report?.verdict ?? 'none' } },
    h(
      'td',
      { class: 'engine-name', dataset: { label: 'Engine' } },
      h('a', { href: jobPath(job.jobid), class: 'job-link', text: job.engine }),
    ),
    h('td', { class: 'status', dataset: { label: 'Status' } }, statusBadge(job.status)),
    h('td', { class: 'verdict-cell', dataset: { label: 'Verdict' } }, verdictBadge(report?.verdict)),
    h('td', { class: 'reason breakable', dataset: { label: 'Reason' } }, report?.reason ?? h('span', { class: 'muted', text: '—' })),
    h(
      'td',
      { class: 'report-summary-cell breakable', dataset: { label: 'Summary' } },
      report ? report.summary : h('span', { class: 'muted', text: none }),
    ),
  );
}

/** Draws the verdicts of the submission's jobs; the order of engines is kept among equal verdicts. */
export function renderVerdicts(jobs) {
  panel.hidden = jobs.length === 0;
  const ranked = jobs
    .map((job, i) => ({ job, i, rank: verdictRank(job.report?.verdict) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((r) => r.job);
  rows.replaceChildren(...ranked.map(row));
  const worst = worstVerdict(jobs.map((j) => j.report?.verdict));
  const from = ranked.filter((j) => j.report?.verdict === worst);
  const ended = jobs.filter((j) => isFinal(j.status)).length;
  fillVerdictBanner(banner, worst, from.length === 1 ? from[0].report.reason : null, {
    from: worst ? `${from.map((j) => j.engine).join(', ')}:` : null,
    none: ended < jobs.length ? 'No verdict yet.' : 'No engine gave a verdict.',
  });
  const said = jobs.filter((j) => j.report?.verdict).length;
  fill(meta, `${said} of ${jobs.length} ${jobs.length === 1 ? 'engine' : 'engines'} gave a verdict${ended < jobs.length ? ' so far' : ''}`);
}
