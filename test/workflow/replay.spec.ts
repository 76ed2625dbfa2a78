import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quietTemporalLogs } from '../support/temporal';

/**
 * Workflows of every earlier version of engineJob, finished and in flight,
 * must replay on the current code, or an upgrade would wedge the jobs that
 * were running during it. The histories in test/fixtures/histories were
 * recorded from each version (v1 and v2 with `temporal workflow show --output
 * json`, v3 on with record.js next to them): v1 ran every step as a regular
 * activity; v2 runs the short ones as local activities (behind
 * patched('short-steps-as-local-activities')); v3 schedules activities with
 * environment names only and carries the run's digest and start time into
 * the final status (patched('run-facts-and-env-names')); its input carries an
 * environment value, as an API from before v3 sent it. v4 runs the whole job
 * in one node-local activity and then only records the status, and sets the
 * node as a search attribute (patched('node-local-run')).
 */
const HISTORIES = join(__dirname, '../fixtures/histories');

describe('engineJob and retentionSweep replay the histories of earlier versions', () => {
  beforeAll(() => quietTemporalLogs());

  const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

  it('has histories of every version, finished and in flight', () => {
    expect(files.sort()).toEqual([
      'engine-job-v1-completed.json',
      'engine-job-v1-running.json',
      'engine-job-v2-completed.json',
      'engine-job-v2-running.json',
      'engine-job-v3-completed.json',
      'engine-job-v3-running.json',
      'engine-job-v4-completed.json',
      'engine-job-v4-running.json',
      // v1 swept the containers of whichever worker took its activity; from v2 each node sweeps its own
      // (patched('nodes-sweep-themselves')). Recorded with record-retention.js.
      'retention-v1-completed.json',
      'retention-v1-running.json',
      'retention-v2-completed.json',
      'retention-v2-running.json',
    ]);
  });

  it.each(files)(
    'replays %s without a determinism error',
    async (file) => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')));
      await Worker.runReplayHistory({ workflowsPath: require.resolve('../../libs/workflows/src') }, history, file);
    },
    120_000,
  ); // each replay bundles the workflows first, which takes long on a busy machine
});
