import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './env';

export type Verdict = 'new' | 'repeat' | 'refused';

/** One delivery as a receiver gets it. */
export interface Delivery {
  key: string;
  url: string;
  body: string;
  /** As Node's http gives them: lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

/** The README's code block in `lang` under "Verifying a delivery". */
function readmeBlock(lang: 'js' | 'python'): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Verifying a delivery'));
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (!match) throw new Error(`the README has no ${lang} verifier under "Verifying a delivery"`);
  return match[1];
}

/**
 * Runs the README's Node verifier, as a receiver would, on `deliveries` in
 * order, with one memory of seen ids (a fresh receiver).
 */
export function readmeNodeVerifier(deliveries: Delivery[]): Verdict[] {
  const verify = new Function('require', `${readmeBlock('js')}\nreturn verify;`)(require) as (
    k: string,
    u: string,
    b: string,
    h: Delivery['headers'],
  ) => Verdict;
  return deliveries.map((d) => verify(d.key, d.url, d.body, d.headers));
}

/** The same with the README's Python verifier, in python3, headers spelt as a WSGI framework gives them. */
export function readmePythonVerifier(deliveries: Delivery[]): Verdict[] {
  const driver = `${readmeBlock('python')}
import sys
cases = json.load(sys.stdin)
print(json.dumps([verify(c["key"], c["url"], c["body"].encode(), {"X-Menagerie-Signature": c["signature"]}) for c in cases]))
`;
  const input = JSON.stringify(
    deliveries.map((d) => ({ key: d.key, url: d.url, body: d.body, signature: String(d.headers['x-menagerie-signature'] ?? '') })),
  );
  return JSON.parse(execFileSync('python3', ['-c', driver], { input }).toString()) as Verdict[];
}
