import { print, printJson, type Context } from '../context';
import { EXIT } from '../errors';
import { table } from '../format';
import type { Report } from '../types';

/** `menagerie report <id>`: the engine's report (GET /report/<id>), for a person, or whole with --json. */
export async function report(ctx: Context, id: string): Promise<number> {
  const found = await ctx.client.report(id);
  if (ctx.json) printJson(ctx, found);
  else print(ctx, reportLines(found));
  return EXIT.OK;
}

/** The summary and verdict, then each section, the tags by type, and the files the engine extracted. */
export function reportLines(r: Report): string[] {
  const lines = [r.summary || '(no summary)'];
  if (r.verdict) lines.push(`verdict: ${r.verdict.value} (${r.verdict.reason})`);
  for (const s of r.sections) {
    lines.push('', `== ${s.title}`);
    if (s.kind === 'kv') lines.push(...table(s.fields.map(([k, v]) => [`${k}:`, oneLine(v)])));
    else if (s.kind === 'table') lines.push(...table([s.columns.map((c) => c.toUpperCase()), ...s.rows.map((row) => row.map(oneLine))]));
    else lines.push(...s.text.split('\n'));
  }
  const byType = new Map<string, string[]>();
  for (const t of r.tags) byType.set(t.type, [...(byType.get(t.type) ?? []), t.value]);
  if (byType.size) {
    lines.push('', '== Tags');
    lines.push(...table([...byType].map(([type, values]) => [type, values.join(', ')])));
  }
  if (r.children.length) {
    lines.push('', '== Extracted files');
    lines.push(...table(r.children.map((c) => [c.relation, c.name ?? c.path])));
  }
  return lines;
}

function oneLine(value: string): string {
  const line = value.replace(/\s+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
