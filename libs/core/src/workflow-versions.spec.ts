import { currentVersion, versionFromPatches, WORKFLOW_PATCHES, WORKFLOW_VERSIONS } from './workflow-versions';

describe('workflow versions', () => {
  it('numbers a version by the newest patch it took', () => {
    expect(versionFromPatches('engineJob', [])).toBe(1);
    expect(versionFromPatches('engineJob', [WORKFLOW_PATCHES.shortStepsAsLocalActivities])).toBe(2);
    expect(versionFromPatches('engineJob', [WORKFLOW_PATCHES.runFactsAndEnvNames, WORKFLOW_PATCHES.shortStepsAsLocalActivities])).toBe(3);
    expect(versionFromPatches('engineJob', [WORKFLOW_PATCHES.nodeLocalRun])).toBe(4);
    expect(versionFromPatches('engineJob', [WORKFLOW_PATCHES.nodeLocalRun, WORKFLOW_PATCHES.recordsItsVersion])).toBe(5);
    expect(versionFromPatches('retentionSweep', [WORKFLOW_PATCHES.nodesSweepThemselves])).toBe(2);
  });

  it("ignores a patch that is not the workflow's own", () => {
    expect(versionFromPatches('retentionSweep', [WORKFLOW_PATCHES.nodeLocalRun])).toBe(1);
  });

  it('starts new workflows at the newest version, and still runs it', () => {
    expect(currentVersion('engineJob')).toBe(5);
    expect(currentVersion('retentionSweep')).toBe(3);
    for (const type of Object.keys(WORKFLOW_VERSIONS) as (keyof typeof WORKFLOW_VERSIONS)[])
      expect(WORKFLOW_VERSIONS[type].oldestRunnable).toBeLessThanOrEqual(currentVersion(type));
  });
});
