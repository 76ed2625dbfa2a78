import type { NodeSweepDeps } from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import type { ContainerRuntime, JobContainer } from '@menagerie/runtime';
import type { JobDirOptions, Scratch } from '@menagerie/storage';
import { newScratch } from './scratch';

/** What a node's sweep (sweepNode) is given in the tests: a scratch, a runtime of canned containers, job statuses. */

const quiet = { info: () => undefined, warn: () => undefined };

/** A node's scratch for the sweep: plain job directories of 10 MB unless told. */
export function sweepScratch(options: Omit<JobDirOptions, 'node'> = { filesystem: 'plain', limitBytes: 10_000_000 }): Promise<Scratch> {
  return newScratch(options, 'menagerie-sweep-');
}

/** A runtime that lists `containers` and removes them as asked (`refuse` ones fail). */
export function runtimeOf(containers: JobContainer[], refuse: string[] = []) {
  const left = [...containers];
  const runtime = {
    listJobContainers: jest.fn(async () => [...left]),
    removeContainer: jest.fn(async (id: string) => {
      if (refuse.includes(id)) throw new Error(`docker remove: container ${id} is busy`);
      left.splice(
        left.findIndex((c) => c.id === id),
        1,
      );
    }),
  } as unknown as jest.Mocked<ContainerRuntime>;
  return { runtime, left };
}

export function sweepDeps(
  over: Partial<NodeSweepDeps> & Pick<NodeSweepDeps, 'scratch' | 'runtime'>,
  statuses = new Map<string, JobStatus>(),
): NodeSweepDeps {
  return {
    node: 'node-a',
    log: quiet,
    jobs: { statuses: jest.fn(async (ids: string[]) => new Map([...statuses].filter(([id]) => ids.includes(id)))) },
    running: new Map(),
    ...over,
  };
}
