import { z } from 'zod';
import { MAX_TAG_VALUE, TAG_TYPE, VERDICTS, type ReportDigest } from '@menagerie/core';

/** The one report format engines write beside `result`, as `report.json`. */
export const REPORT_SCHEMA_ID = 'menagerie.report/1';

/**
 * The bounds a report is held to. A report past one fails its job with the
 * path of what is too long or too many, and nothing of it is stored.
 */
export const REPORT_LIMITS = {
  /** report.json itself. */
  bytes: 2 * 1024 * 1024,
  summary: 300,
  reason: 300,
  tags: 2000,
  tagType: 64,
  tagValue: MAX_TAG_VALUE,
  sections: 64,
  title: 200,
  key: 200,
  /** A key-value section's value, a table's cell. */
  cell: 4096,
  fields: 500,
  columns: 32,
  rows: 2000,
  /** A text section. */
  text: 256 * 1024,
  children: 1000,
  childPath: 1024,
  childName: 1024,
} as const;

/** Why a child was extracted: `extracted`, `attachment`, `embedded`, `dex`, `overlay`, `resource`, ... */
const RELATION = /^[a-z][a-z0-9_-]{0,31}$/;

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const many = <T extends z.ZodType>(item: T, max: number) => z.array(item).max(max, `must hold at most ${max} entries`);

/** A path inside the job directory (the engine's mountpoint), relative, without "." or ".." segments. */
const childPath = text(REPORT_LIMITS.childPath)
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.includes('\0') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'must be a relative path inside the job directory, without "", "." or ".." segments',
  )
  .refine((p) => p !== 'result' && p !== 'report.json', 'must not be the result or the report');

const tag = z
  .object({
    type: text(REPORT_LIMITS.tagType).regex(TAG_TYPE, 'must be "<family>.<name>" in lower case, such as "yara.rule" or "ioc.url"'),
    value: text(REPORT_LIMITS.tagValue).min(1),
  })
  .strict();

const section = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('kv'),
      title: text(REPORT_LIMITS.title).min(1),
      fields: many(z.tuple([text(REPORT_LIMITS.key).min(1), text(REPORT_LIMITS.cell)]), REPORT_LIMITS.fields),
    })
    .strict(),
  z
    .object({
      kind: z.literal('table'),
      title: text(REPORT_LIMITS.title).min(1),
      columns: many(text(REPORT_LIMITS.key).min(1), REPORT_LIMITS.columns).min(1),
      rows: many(many(text(REPORT_LIMITS.cell), REPORT_LIMITS.columns), REPORT_LIMITS.rows),
    })
    .strict()
    .refine((t) => t.rows.every((row) => row.length === t.columns.length), {
      message: 'every row must have as many cells as there are columns',
      path: ['rows'],
    }),
  z
    .object({
      kind: z.literal('text'),
      title: text(REPORT_LIMITS.title).min(1),
      text: text(REPORT_LIMITS.text),
    })
    .strict(),
]);

export const reportSchema = z
  .object({
    schema: z.literal(REPORT_SCHEMA_ID),
    /** One line, for lists and the job's page. */
    summary: text(REPORT_LIMITS.summary).refine((s) => !/[\r\n]/.test(s), 'must be one line'),
    /** Only where the engine can honestly say. */
    verdict: z
      .object({
        value: z.enum(VERDICTS),
        reason: text(REPORT_LIMITS.reason).min(1),
      })
      .strict()
      .optional(),
    tags: many(tag, REPORT_LIMITS.tags).default([]),
    /** For people: key-value pairs, a table, or text. */
    sections: many(section, REPORT_LIMITS.sections).default([]),
    /** Files the engine extracted, for recursive analysis. */
    children: many(
      z
        .object({
          path: childPath,
          relation: text(32).regex(RELATION, 'must be a lower-case word such as "extracted", "attachment", "embedded" or "dex"'),
          /** Its name inside the parent (an archive member's path, an attachment's file name). */
          name: text(REPORT_LIMITS.childName).optional(),
        })
        .strict(),
      REPORT_LIMITS.children,
    ).default([]),
  })
  .strict();

export type Report = z.infer<typeof reportSchema>;
export type ReportChild = Report['children'][number];

/** The JSON Schema of the report, as `schemas/report.schema.json` holds it (a unit test keeps the two equal). */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://menagerie.dev/schemas/report-1.json',
    title: REPORT_SCHEMA_ID,
    description: 'What a Menagerie engine writes beside its result, as report.json. See docs/reports.md.',
    ...z.toJSONSchema(reportSchema, { io: 'input', unrepresentable: 'any' }),
  };
}

/** A report that is not one: what is wrong, and where, in words a person can act on. */
export class ReportError extends Error {}

/**
 * Parses an engine's report.json: JSON in the report format, within its
 * bounds. Throws a ReportError naming the first problems found.
 */
export function parseReport(bytes: Buffer): Report {
  if (bytes.length > REPORT_LIMITS.bytes) {
    throw new ReportError(`report.json is ${bytes.length} bytes, more than the limit of ${REPORT_LIMITS.bytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ReportError(`report.json is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = reportSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(the report)'}: ${i.message}`);
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new ReportError(`report.json does not follow ${REPORT_SCHEMA_ID}: ${problems.join('; ')}${more}`);
  }
  return parsed.data;
}

/** What the job's row keeps of its report (ReportDigest in @menagerie/core). */
export function digestOf(report: Report): ReportDigest {
  const tagCounts: Record<string, number> = {};
  for (const t of report.tags) tagCounts[t.type] = (tagCounts[t.type] ?? 0) + 1;
  return { summary: report.summary, verdict: report.verdict?.value ?? null, reason: report.verdict?.reason ?? null, tagCounts };
}

/** Tags with each (type, value) once, in the order first seen: what the job's tag index holds. */
export function distinctTags(report: Report): Array<{ type: string; value: string }> {
  const seen = new Set<string>();
  return report.tags.filter((t) => {
    const key = `${t.type}\0${t.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
