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

/** Where a receiver is told how to verify a delivery: that page, and its section. */
const VERIFIERS_DOC = 'docs/api.md';
const SECTION = 'Verifying a delivery';

/** The code block in `lang` of the section "Verifying a delivery" of docs/api.md (up to the next heading). */
function docBlock(lang: 'js' | 'python'): string {
  const doc = readFileSync(join(ROOT, VERIFIERS_DOC), 'utf8');
  const heading = new RegExp(`^#+ ${SECTION}\\s*$`, 'm').exec(doc);
  if (!heading) throw new Error(`${VERIFIERS_DOC} has no section "${SECTION}"`);
  const rest = doc.slice(heading.index + heading[0].length);
  // The section ends at the next heading outside a code block.
  let end = rest.length;
  let fenced = false;
  let at = 0;
  for (const line of rest.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#+ /.test(line)) {
      end = at;
      break;
    }
    at += line.length + 1;
  }
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(rest.slice(0, end));
  if (!match) throw new Error(`${VERIFIERS_DOC} has no ${lang} verifier under "${SECTION}"`);
  return match[1];
}

/**
 * Runs the documented Node verifier, as a receiver would, on `deliveries` in
 * order, with one memory of seen ids (a fresh receiver).
 */
export function docNodeVerifier(deliveries: Delivery[]): Verdict[] {
  const verify = new Function('require', `${docBlock('js')}\nreturn verify;`)(require) as (
    k: string,
    u: string,
    b: string,
    h: Delivery['headers'],
  ) => Verdict;
  return deliveries.map((d) => verify(d.key, d.url, d.body, d.headers));
}

/** The same with the documented Python verifier, in python3, headers spelt as a WSGI framework gives them. */
export function docPythonVerifier(deliveries: Delivery[]): Verdict[] {
  const driver = `${docBlock('python')}
import sys
cases = json.load(sys.stdin)
print(json.dumps([verify(c["key"], c["url"], c["body"].encode(), {"X-Menagerie-Signature": c["signature"]}) for c in cases]))
`;
  const input = JSON.stringify(
    deliveries.map((d) => ({ key: d.key, url: d.url, body: d.body, signature: String(d.headers['x-menagerie-signature'] ?? '') })),
  );
  return JSON.parse(execFileSync('python3', ['-c', driver], { input }).toString()) as Verdict[];
}
