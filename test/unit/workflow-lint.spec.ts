import { ESLint } from 'eslint';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** The lint rule that keeps workflow code deterministic (eslint.config.js); scripts/test.sh runs it on the tree. */
describe('workflow import rule', () => {
  // The config is handed over as loaded: ESLint's own loader uses a dynamic import, which jest's VM refuses.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: require(join(ROOT, 'eslint.config.js')) });
  /** The rule violations in `code`, as if it were `file`. */
  const lint = async (code: string, file = 'libs/workflows/src/probe.ts') => {
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
    return result.messages.filter((m) => m.ruleId).map((m) => `${m.line}: ${m.message}`);
  };

  it.each([
    ["import { readFileSync } from 'node:fs';", 'a Node built-in'],
    ["import { randomUUID } from 'crypto';", 'a Node built-in without node:'],
    ["import { createActivities } from '@menagerie/activities';", 'the activities, as a value'],
    ["import { JobRepository } from '@menagerie/db';", 'the database'],
    ["import { Client } from '@temporalio/client';", 'another Temporal package'],
    ["import { isJobId } from '../../core/src';", 'a path out of libs/workflows'],
    ["import { JobRepository } from './../../db/src';", 'a path that climbs out from ./'],
    ["import { x } from './sub/../../../db/src';", 'a path that climbs out further down'],
    ["export * from 'node:path';", 'a re-export of a built-in'],
    ["const fs = require('fs');", 'require'],
    ["export const load = () => import('node:fs');", 'a dynamic import'],
  ])('refuses %s (%s)', async (code) => {
    expect(await lint(code)).toEqual([expect.stringMatching(/^1: .*(workflow code|imports with)/)]);
  });

  it.each([
    "import { proxyActivities } from '@temporalio/workflow';",
    "import { isJobId } from '@menagerie/core';",
    "import type { Activities } from '@menagerie/activities';",
    "import type { Stats } from 'node:fs';",
    "import { engineJob } from './engine-job.workflow';",
    "import { helper } from './steps/run-facts';",
  ])('allows %s', async (code) => {
    expect(await lint(code)).toEqual([]);
  });

  it('holds only in workflow code', async () => {
    expect(await lint("import { readFileSync } from 'node:fs';", 'libs/activities/src/probe.ts')).toEqual([]);
  });

  it('passes on the workflow code as it is', async () => {
    const dir = join(ROOT, 'libs/workflows/src');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(await lint(readFileSync(join(dir, file), 'utf8'), `libs/workflows/src/${file}`)).toEqual([]);
    }
  });
});
