import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_STATUSES, JOB_START_STATUSES, JOB_TRANSITIONS } from '@menagerie/core';

/** The state diagram of docs/architecture.md draws exactly JOB_TRANSITIONS. */
describe('the job state diagram', () => {
  const doc = readFileSync(join(__dirname, '../../docs/architecture.md'), 'utf8');
  const diagram = /```mermaid\s*\nstateDiagram-v2\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const edges = [...diagram.matchAll(/^\s*(\[\*\]|\w+) --> (\[\*\]|\w+)/gm)].map((m) => `${m[1]} -> ${m[2]}`);

  it('has an edge for each transition, and no other', () => {
    const expected = [
      ...JOB_START_STATUSES.map((s) => `[*] -> ${s}`),
      ...Object.entries(JOB_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`)),
      ...FINAL_STATUSES.map((s) => `${s} -> [*]`),
    ];
    expect(edges.length).toBeGreaterThan(0);
    expect([...new Set(edges)].sort()).toEqual(expected.sort());
  });
});
