import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { versionFromPatches, WORKFLOW_VERSIONS, type VersionedWorkflow } from '@menagerie/core';
import { quietTemporalLogs } from '../support/temporal';

/**
 * Workflows of every version still run (WORKFLOW_VERSIONS' oldestRunnable
 * and later), finished and in flight, must replay on the current code, or an
 * upgrade would wedge the jobs that were running during it. The histories in
 * test/fixtures/histories were recorded from each version (v1 and v2 with
 * `temporal workflow show --output json`, v3 on with record.js and
 * record-retention.js next to them):
 * - engineJob v1 ran every step as a regular activity; v2 ran the short ones
 *   as local activities; v3 scheduled activities with environment names only
 *   and carried the run's facts into the final status (its input carries an
 *   environment value, as an API from before v3 sent it); v4 runs the whole
 *   job in one node-local activity, then records the status, and sets the
 *   node as a search attribute; v5 records its version at its start.
 * - retentionSweep v1 swept the containers of whichever worker took its
 *   activity; from v2 each node sweeps its own; v3 records its version.
 * The code of the versions before oldestRunnable is gone: their histories
 * stay, to show that this code can't replay them, which is why a worker
 * refuses to start while one is open (refuseUnrunnableWorkflows).
 */
const HISTORIES = join(__dirname, '../fixtures/histories');
const TYPES: Record<string, VersionedWorkflow> = { 'engine-job': 'engineJob', retention: 'retentionSweep' };

interface Fixture {
  file: string;
  type: VersionedWorkflow;
  version: number;
  state: string;
}

const fixtures: Fixture[] = readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const [, name, version, state] = /^(.+)-v(\d+)-(completed|running)\.json$/.exec(file) ?? [];
    return { file, type: TYPES[name ?? ''] as VersionedWorkflow, version: Number(version), state: state ?? '' };
  });

const historyOf = (file: string) => historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')));
const replay = (file: string) =>
  Worker.runReplayHistory({ workflowsPath: require.resolve('../../libs/workflows/src') }, historyOf(file), file);

/** The patches a history's workflow took, from its patch markers. */
function patchesOf(file: string): string[] {
  return (historyOf(file).events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

const runnable = fixtures.filter((f) => f.version >= WORKFLOW_VERSIONS[f.type].oldestRunnable);
const removed = fixtures.filter((f) => f.version < WORKFLOW_VERSIONS[f.type].oldestRunnable);

describe('engineJob and retentionSweep replay the histories of the versions they still run', () => {
  beforeAll(() => quietTemporalLogs());

  it('has histories of every version, finished and in flight, each of the version its name says', () => {
    const versions = (type: VersionedWorkflow) => WORKFLOW_VERSIONS[type].patches.length + 1;
    for (const type of Object.values(TYPES))
      for (let version = 1; version <= versions(type); version++)
        for (const state of ['completed', 'running'])
          expect(fixtures).toContainEqual({ file: expect.any(String) as string, type, version, state });
    for (const fixture of fixtures)
      expect([fixture.file, versionFromPatches(fixture.type, patchesOf(fixture.file))]).toEqual([fixture.file, fixture.version]);
  });

  it.each(runnable.map((f) => f.file))(
    'replays %s without a determinism error',
    async (file) => {
      await replay(file);
    },
    120_000,
  ); // each replay bundles the workflows first, which takes long on a busy machine

  it.each(removed.map((f) => f.file))(
    'cannot replay %s, whose code is gone',
    async (file) => {
      await expect(replay(file)).rejects.toBeInstanceOf(DeterminismViolationError);
    },
    120_000,
  );
});
