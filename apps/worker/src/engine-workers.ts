import {
  Worker,
  type ActivitySlotInfo,
  type CustomSlotSupplier,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import { activitiesOn, type Activities } from '@menagerie/activities';
import { containerQueueFor } from '@menagerie/core';
import type { Engine } from '@menagerie/engines';
import { SlotPool, type EngineWorkers } from '@menagerie/fleet';

export type Common = Pick<WorkerOptions, 'connection' | 'namespace' | 'shutdownGraceTime' | 'maxHeartbeatThrottleInterval'>;

/** Activity slots from a pool, whose size a reload can change while the worker polls. */
function slotsFrom(pool: SlotPool): CustomSlotSupplier<ActivitySlotInfo> {
  return {
    type: 'custom',
    reserveSlot: async (_ctx, signal) => {
      await pool.acquire(signal);
      return {};
    },
    tryReserveSlot: () => (pool.tryAcquire() ? {} : null),
    markSlotUsed: () => undefined,
    releaseSlot: () => pool.release(),
  };
}

/** Starts an engine's two Temporal workers: its workflow queue and its container queue. */
export function temporalEngineWorkers(common: Common, bundleCode: WorkflowBundleWithSourceMap, activities: Activities, logger: Logger) {
  const onWorkflowQueue = activitiesOn(activities, 'workflow');
  const onContainerQueue = activitiesOn(activities, 'container');
  return async (engine: Engine): Promise<EngineWorkers> => {
    const name = engine.config.name;
    // `workers` bounds this engine's concurrent containers in this process. Temporal allows one
    // worker per task queue in a process, so a reload resizes the bound rather than replacing the worker.
    const containers = new SlotPool(engine.config.workers);
    const created = await Promise.allSettled([
      Worker.create({ ...common, taskQueue: name, workflowBundle: bundleCode, activities: onWorkflowQueue }),
      Worker.create({
        ...common,
        taskQueue: containerQueueFor(name),
        activities: onContainerQueue,
        tuner: {
          activityTaskSlotSupplier: slotsFrom(containers),
          // Unused: this worker runs no workflows, local activities or Nexus tasks.
          workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
          localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
          nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
        },
      }),
    ]);
    const workers = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const refused = created.find((c) => c.status === 'rejected');
    if (refused) {
      // A worker created but never run keeps its task queue registered: release it, so a retry can start.
      await Promise.all(
        workers.map(async (w) => {
          const running = w.run();
          w.shutdown();
          await running.catch(() => undefined);
        }),
      );
      throw refused.reason;
    }
    logger.info({ engine: name, workers: engine.config.workers, image: engine.config.image }, 'engine workers started');
    return {
      run: Promise.all(workers.map((w) => w.run())).then(() => undefined),
      resize: (size) => containers.resize(size),
      // Runtime.install's signal handlers may have stopped them already.
      shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
    };
  };
}
