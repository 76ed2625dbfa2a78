/** One series of a Prometheus text-format scrape. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape, parsed: every sample line (comments skipped). */
export function parseMetrics(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    series.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return series;
}

/** The sum of the series named `name` whose labels include `labels` (0 when there is none). */
export function total(series: Series[], name: string, labels: Record<string, string> = {}): number {
  return series
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GET a /metrics URL and parse it; throws unless it answered 200 in the text format. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ text: string; series: Series[] }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain'))
    throw new Error(`GET ${url}: content type ${res.headers.get('content-type')}`);
  return { text, series: parseMetrics(text) };
}
