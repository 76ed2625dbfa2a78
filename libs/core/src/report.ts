/** What an engine may honestly say of a file, worst first (menagerie.report/1's verdict). */
export const VERDICTS = ['malicious', 'suspicious', 'informational', 'clean'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * What a job keeps of its report beside its result: for /result, lists and
 * filters. The whole report is in the store (GET /report/<id>); its tags are
 * indexed in PostgreSQL.
 */
export interface ReportDigest {
  /** The report's one line. */
  summary: string;
  verdict: Verdict | null;
  /** Why, in the engine's words; null without a verdict. */
  reason: string | null;
  /** How many tags of each type. */
  tagCounts: Record<string, number>;
}

/** The worse of two verdicts (null: none said). */
export function worseVerdict(a: Verdict | null, b: Verdict | null): Verdict | null {
  if (a === null) return b;
  if (b === null) return a;
  return VERDICTS.indexOf(a) <= VERDICTS.indexOf(b) ? a : b;
}
