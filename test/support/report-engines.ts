import { writeEnginesFile, type TestEngine } from './engines-file';
import { body, uploadBytes, waitForJob, type Job } from './http';

/**
 * Engines on the Python engine base (`menagerie/python:stable`) whose report
 * is whatever their input says, written with menagerie_report (the writer
 * every Python engine uses), for the tests of what shows reports (test/browser/reports.spec.ts).
 */

/** What one engine is to report: a menagerie.report/1 report in the writer's terms. */
export interface ReportSpec {
  summary: string;
  /** [value, reason] */
  verdict?: [string, string];
  /** [type, value] pairs, in order. */
  tags?: Array<[string, string]>;
  sections?: Array<
    | { kind: 'kv'; title: string; fields: Array<[string, string]> }
    | { kind: 'table'; title: string; columns: string[]; rows: string[][] }
    | { kind: 'text'; title: string; text: string }
  >;
  /** Files to extract, as `children/<file>` (its name made safe by the writer), with why and their name in the input. */
  children?: Array<{ file: string; relation: string; name?: string; content?: string }>;
}

/**
 * The engine's program. Its input is JSON, `{"<engine>": ReportSpec, ...}`:
 * each engine (its name is its argument) reports what its own entry says, so
 * one file uploaded to several engines gets a different report from each.
 */
const SCRIPT = [
  'import json, sys',
  'from menagerie_report import Report',
  'name = sys.argv[1]',
  'r = Report(name)',
  'spec = json.loads(r.read_input().decode("utf-8")).get(name) or {"summary": "no report asked of " + name}',
  'r.summary = spec["summary"]',
  'if spec.get("verdict"): r.verdict(*spec["verdict"])',
  'for t, v in spec.get("tags", []): r.tag(t, v)',
  'for s in spec.get("sections", []):',
  '    if s["kind"] == "kv": r.kv(s["title"], s["fields"])',
  '    elif s["kind"] == "table": r.table(s["title"], s["columns"], s["rows"])',
  '    else: r.text(s["title"], s["text"])',
  'for c in spec.get("children", []):',
  '    path = r.child_path(c["file"])',
  '    with open(path, "w") as f: f.write(c.get("content", c["file"]))',
  '    r.child(path, c["relation"], c.get("name"))',
  'r.finish()',
].join('\n');

/** An engine that reports what its entry of the input says. */
export function scriptedReporter(name: string): TestEngine {
  return { name, image: '{{regserver}}/python:stable', sizelimit: 2_000_000, cmd: ['python3', '-c', SCRIPT, name] };
}

/** An engine on the same image that writes only its result, as the original contract has it: no report. */
export const NO_REPORT: TestEngine = {
  name: 'plain',
  image: '{{regserver}}/python:stable',
  cmd: ['sh', '-c', 'echo plain > /var/data/result'],
};

/** The engines file of the report specs: `alpha` and `beta` (scripted reporters) and `plain` (no report). */
export function reportEnginesFile(): string {
  return writeEnginesFile([scriptedReporter('alpha'), scriptedReporter('beta'), NO_REPORT]);
}

/** The input that has each engine named report its spec. */
export function reportInput(specs: Record<string, ReportSpec>): string {
  return JSON.stringify(specs);
}

/** Uploads `specs` as `name` to one engine and waits for the job to end. */
export async function runReport(baseUrl: string, engine: string, name: string, specs: Record<string, ReportSpec>): Promise<Job> {
  const res = await uploadBytes(baseUrl, engine, reportInput(specs), name);
  if (res.status !== 201) throw new Error(`upload to ${engine}: ${res.status} ${await res.text()}`);
  return waitForJob(baseUrl, (await body<Job>(res)).jobid, 180_000);
}

/** POST /submit of `specs` as `name` to `engines` (in that order); gives the submission's id once each of its jobs has ended. */
export async function submitReports(baseUrl: string, engines: string[], name: string, specs: Record<string, ReportSpec>): Promise<string> {
  const form = new FormData();
  form.append('upload', new Blob([reportInput(specs)]), name);
  const res = await fetch(`${baseUrl}/submit?engines=${engines.join(',')}`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`POST /submit: ${res.status} ${await res.text()}`);
  const submission = await body<{ submissionId: string; jobs: Job[] }>(res);
  await Promise.all(submission.jobs.map((j) => waitForJob(baseUrl, j.jobid, 180_000)));
  return submission.submissionId;
}
