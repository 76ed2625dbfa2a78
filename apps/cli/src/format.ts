import type { Engine, Job, JobPage, Submission } from './types';

/** Rows as columns two spaces apart; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** 1536 -> "1.5 kB" (powers of 1000: kB, not KiB). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : Number(value.toFixed(1))} ${units[unit]}`;
}

/** The status, and why when it did not complete: "failed (exit code 1: no such file)", "completed (cached)". */
export function statusText(job: Job): string {
  if (job.status === 'completed') return job.cached ? 'completed (cached)' : 'completed';
  if (job.status === 'queued' && job.waitingFor) return `queued (waiting for ${job.waitingFor})`;
  const why = [job.exitCode !== null && job.exitCode !== undefined ? `exit code ${job.exitCode}` : '', firstLine(job.error)]
    .filter(Boolean)
    .join(': ');
  return why ? `${job.status} (${why})` : job.status;
}

/** One row per job: id, engine, status, and what it was given. */
export function jobRow(job: Job, label = job.input.name): string[] {
  return [job.jobid, job.engine, statusText(job), label];
}

/** What `submit` printed for one file: its job, or its submission and the submission's jobs. */
export interface ErrorBody {
  error: string;
  message: string;
}
/** `waitError`: the job was submitted but could not be followed to its end. */
export type Submitted =
  | { file: string; job: Job; waitError?: ErrorBody }
  | { file: string; submission: Submission; waitError?: ErrorBody }
  | { file: string; error: ErrorBody };

export function submittedLines(items: Submitted[]): string[] {
  const lines: string[] = [];
  let jobs: string[][] = [];
  const flush = () => {
    lines.push(...table(jobs));
    jobs = [];
  };
  for (const item of items) {
    if ('job' in item) jobs.push(jobRow(item.job, item.file));
    else if ('submission' in item) {
      flush();
      const s = item.submission;
      lines.push(`submission ${s.submissionId}  ${s.status}  ${item.file}  (engines: ${s.requested})`);
      lines.push(...table(s.jobs.map((j) => ['', ...jobRow(j, '')])).map((l) => l.trimEnd()));
    }
  }
  flush();
  return lines;
}

export function jobDetails(job: Job): string[] {
  const rows: [string, string | null | undefined][] = [
    ['job', job.jobid],
    ['engine', job.engine],
    ['status', statusText(job)],
    ['input', `${job.input.name} (${bytes(job.input.size)}${job.input.mime ? `, ${job.input.mime}` : ''})`],
    ['sha256', job.input.sha256],
    ['created', job.createdAt],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
    ['cached from', job.cachedFrom],
    ['submission', job.submission?.id],
    ['result', job.result ? `${job.result.name} (${bytes(job.result.size)}, ${job.result.mime})` : null],
    ['summary', job.report?.summary],
    ['verdict', job.report?.verdict ? `${job.report.verdict} (${job.report.reason})` : null],
    ['report', job.report?.url ? `menagerie report ${job.jobid}` : null],
    ['fetch', job.result ? `menagerie fetch ${job.jobid}` : null],
  ];
  return keyValues(rows);
}

export function submissionDetails(s: Submission): string[] {
  const head = keyValues([
    ['submission', s.submissionId],
    ['status', s.status],
    ['input', `${s.input.name} (${bytes(s.input.size)}, ${s.input.mime})`],
    ['sha256', s.input.sha256],
    ['engines', s.requested],
  ]);
  return [...head, ...table(s.jobs.map((j) => ['', ...jobRow(j, '')]))];
}

export function jobPageLines(page: JobPage): string[] {
  if (!page.items.length) return ['no jobs'];
  const rows = [
    ['JOB', 'ENGINE', 'STATUS', 'CREATED', 'INPUT'],
    ...page.items.map((j) => [j.jobid, j.engine, statusText(j), j.createdAt, j.input.name]),
  ];
  const lines = table(rows);
  lines.push(`${page.items.length} of ${page.totalExact ? '' : 'about '}${page.total}${page.next ? `; older: --cursor ${page.next}` : ''}`);
  return lines;
}

export function engineLines(engines: Engine[]): string[] {
  const rows = [
    ['ENGINE', 'AVAILABLE', 'QUEUED', 'RUNNING', 'WORKERS', 'SIZE LIMIT', 'TIMEOUT', 'IMAGE'],
    ...engines.map((e) => [
      e.name,
      e.available ? 'yes' : `no${e.unavailableReason ? ` (${firstLine(e.unavailableReason)})` : ''}`,
      String(e.jobs.queued),
      String(e.jobs.running),
      String(e.workers),
      bytes(e.sizelimit),
      `${e.timeout} s`,
      e.image,
    ]),
  ];
  return table(rows);
}

function keyValues(rows: [string, string | null | undefined][]): string[] {
  const present = rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== undefined && r[1] !== '');
  const width = Math.max(...present.map(([k]) => k.length)) + 1;
  return present.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`);
}

function firstLine(text: string | null | undefined): string {
  return (
    (text ?? '')
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
}
