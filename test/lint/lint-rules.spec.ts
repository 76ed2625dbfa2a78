import { ESLint } from 'eslint';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

// The config is handed over as loaded: ESLint's own loader uses a dynamic import, which jest's VM refuses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require(join(ROOT, 'eslint.config.js'));
/**
 * The project's config, linting without type information: the rules under
 * test are structural, and a type-aware program built beside the rest of the
 * suite (which writes files as it runs) is neither needed nor stable here.
 */
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    ...config,
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { project: null, projectService: false } },
      rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
    },
  ],
});
/** The structural rules' findings (and any parse failure) in `code`, linted as if it were the existing `file`. */
const lint = async (code: string, file: string) => {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result.messages
    .filter((m) => m.fatal || m.ruleId === '@typescript-eslint/no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => `${m.line}: ${m.message}`);
};

/** The lint rule that keeps workflow code deterministic (eslint.config.js); scripts/test.sh runs it on the tree. */
describe('workflow import rule', () => {
  const WORKFLOW_FILE = 'libs/workflows/src/index.ts';
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
    expect(await lint(code, WORKFLOW_FILE)).toContainEqual(expect.stringMatching(/^1: .*(workflow code|imports with)/));
  });

  it.each([
    "import { proxyActivities } from '@temporalio/workflow';",
    "import { isJobId } from '@menagerie/core';",
    "import type { Activities } from '@menagerie/activities';",
    "import type { Stats } from 'node:fs';",
    "import { engineJob } from './engine-job.workflow';",
    "import { helper } from './steps/run-facts';",
  ])('allows %s', async (code) => {
    expect(await lint(code, WORKFLOW_FILE)).toEqual([]);
  });

  it('holds only in workflow code', async () => {
    expect(await lint("import { readFileSync } from 'node:fs';", 'libs/activities/src/index.ts')).toEqual([]);
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

/** The package boundaries (eslint.config.js): entry points only, declared dependencies only, no lib imports an app. */
describe('package boundary rule', () => {
  it.each([
    ["import { JobRepository } from '@menagerie/db/src/job.repository';", 'libs/activities/src/index.ts', 'entry point'],
    ["import { Scratch } from '../../storage/src/scratch';", 'libs/activities/src/index.ts', 'leave its package'],
    ["import { x } from '../../../test/support/until';", 'libs/db/src/index.ts', 'leave its package'],
    ["import { createActivities } from '@menagerie/activities';", 'libs/db/src/index.ts', 'declares \\(core\\)'],
    ["import { AppModule } from '@menagerie/api';", 'libs/core/src/index.ts', 'never imports an app'],
    ["import { x } from '@menagerie/worker';", 'apps/api/src/main.ts', 'declares'],
  ])('refuses %s in %s', async (code, file, why) => {
    expect(await lint(code, file)).toEqual([expect.stringMatching(new RegExp(`^1: .*${why}`))]);
  });

  it.each([
    ["import { JobRepository } from '@menagerie/db';", 'libs/activities/src/index.ts'],
    ["import { isJobId } from '@menagerie/core';", 'libs/db/src/index.ts'],
    ["import { x } from './sub/y';", 'libs/db/src/index.ts'],
    ["import { x } from '../jobs/x';", 'apps/api/src/main.ts'],
  ])('allows %s in %s', async (code, file) => {
    expect(await lint(code, file)).toEqual([]);
  });
});
