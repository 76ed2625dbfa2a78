import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import { dataCheckRefusal, MenagerieError, type DataCheckOutcome } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { DataBundleRepository } from '@menagerie/db';
import { BundleError, bundleTarLimit, datacheckOf, engineNamed, specWithBundles, type Engine } from '@menagerie/engines';
import { spoolBundle, type BlobStore, type SpooledBundle } from '@menagerie/storage';
import { BLOB_STORE, CONFIG } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { NodesService } from '../nodes/nodes.service';
import { toVersionView, type EngineBundlesView, type PushView } from './bundles.view';

/** Beyond the engine's timeout, what a check may take to be taken by a node (the workflow's own bound) and to start. */
const CHECK_MARGIN_MS = 90_000;

/** Why a check could not run, from its workflow's failure, in words for whoever pushed. */
function checkFailure(err: unknown): string {
  let cause: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  if (cause instanceof ActivityFailure) cause = cause.cause;
  if (cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START')
    return 'no worker node serving the engine took it in time';
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message;
  return String(cause);
}

/**
 * Pushes of data bundles (POST /engines/<engine>/data/<bundle>): the tar is
 * checked member by member as it arrives, stored under its digest as a
 * canonical tar, checked by the engine's datacheck on a node that serves it,
 * and only then made current. A refused version leaves nothing behind.
 */
@Injectable()
export class BundlePushService {
  private readonly logger = new Logger(BundlePushService.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly repo: DataBundleRepository,
    private readonly temporal: TemporalService,
    private readonly nodes: NodesService,
  ) {}

  /** The engine, or ENGINE_UNKNOWN; and where it mounts `bundle`, or DATA_BUNDLE_UNKNOWN naming the bundles it has. */
  target(engineName: string, bundle?: string): { engine: Engine; target: string } {
    const engine = engineNamed(this.config.engines, engineName);
    if (bundle === undefined) return { engine, target: '' };
    const target = engine.config.data?.[bundle];
    if (!target) {
      const has = Object.keys(engine.config.data ?? {});
      throw new MenagerieError(
        'DATA_BUNDLE_UNKNOWN',
        `engine ${engineName} has no data bundle named "${bundle}"; ${has.length ? `its bundles: ${has.join(', ')}` : 'it declares none (engines.json "data")'}`,
        { engine: engineName, bundles: has },
      );
    }
    return { engine, target };
  }

  /** Refused before a byte is read: not a tar, or declared larger than a bundle may be. */
  precheck(req: Request): void {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/(x-)?tar\s*(;|$)/i.test(type))
      throw new MenagerieError('NOT_TAR', 'send the bundle as a tar, Content-Type: application/x-tar (menagerie data push packs one)');
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > bundleTarLimit())
      throw new MenagerieError(
        'UPLOAD_TOO_LARGE',
        `the tar (${declared} bytes) is larger than a bundle's limit of ${bundleTarLimit()} bytes`,
        {
          limit: bundleTarLimit(),
        },
      );
  }

  async push(engineName: string, bundle: string, req: Request): Promise<PushView> {
    const { engine, target } = this.target(engineName, bundle);
    this.precheck(req);
    const check = datacheckOf(engine);
    if (check) {
      const serving = await this.nodes.serving(engineName, true);
      if (!serving.available)
        throw new MenagerieError('ENGINE_UNAVAILABLE', `engine ${engineName} cannot check a bundle now: ${serving.reason}`, {
          engine: engineName,
        });
    }
    const spooled = await spoolBundle(req).catch((err: unknown) => {
      if (!(err instanceof BundleError)) throw err;
      if (err.tooLarge) throw new MenagerieError('UPLOAD_TOO_LARGE', `the bundle ${err.message}`, { limit: bundleTarLimit() });
      throw new MenagerieError('BAD_DATA_BUNDLE', `the bundle's tar was refused: ${err.message}`, { member: err.member });
    });
    try {
      return await this.admit(engine, bundle, target, spooled, check);
    } finally {
      await spooled.dispose();
    }
  }

  private async admit(engine: Engine, bundle: string, target: string, spooled: SpooledBundle, check: string[] | null): Promise<PushView> {
    const name = engine.config.name;
    const { digest, size, files } = spooled.facts;
    const now = (await this.repo.current(name)).get(bundle);
    if (now?.digest === digest) return { engine: name, bundle, ...toVersionView(now), changed: false };
    const kept = await this.store.bundles.exists(digest);
    if (!kept) await this.store.bundles.put(digest, spooled.tar(), bundleTarLimit());
    // Only what this push stored, and no version of any engine has: a shared digest's tar stays.
    const forget = async () => {
      if (!kept && !(await this.repo.known(digest))) await this.store.bundles.remove(digest).catch(() => undefined);
    };
    let checkLog: string | null = null;
    if (check) {
      const outcome = await this.runCheck(engine, bundle, target, digest, check).catch(async (err: unknown) => {
        await forget();
        throw err;
      });
      if (!outcome.accepted) {
        await forget();
        this.logger.log(
          { engine: name, bundle, digest, exitCode: outcome.exitCode, node: outcome.node },
          'data bundle refused by its check',
        );
        throw new MenagerieError('DATA_BUNDLE_REFUSED', dataCheckRefusal(name, bundle, outcome, engine.config.timeout), {
          engine: name,
          bundle,
          digest,
          exitCode: outcome.exitCode,
          node: outcome.node,
        });
      }
      checkLog = outcome.log;
    }
    const { version, changed } = await this.repo.recordCurrent({ engine: name, bundle, digest, size, files, checkLog });
    this.logger.log({ engine: name, bundle, digest, files, size }, 'data bundle pushed');
    return { engine: name, bundle, ...toVersionView(version), changed };
  }

  /** The check on a node that serves the engine; one that cannot run is ENGINE_UNAVAILABLE, saying why. */
  private async runCheck(engine: Engine, bundle: string, target: string, digest: string, cmd: string[]): Promise<DataCheckOutcome> {
    const input = { checkId: randomUUID(), engine: specWithBundles(engine, null), bundle, target, digest, cmd };
    try {
      return await this.temporal.checkDataBundle(input, engine.config.timeout * 1000 + CHECK_MARGIN_MS);
    } catch (err) {
      const name = engine.config.name;
      if (err instanceof WorkflowFailedError)
        throw new MenagerieError('ENGINE_UNAVAILABLE', `the datacheck of engine ${name} could not run: ${checkFailure(err)}`, {
          engine: name,
        });
      throw new MenagerieError(
        'SCHEDULER_UNAVAILABLE',
        `the datacheck of engine ${name} could not be run through Temporal: ${checkFailure(err)}`,
      );
    }
  }

  /** Each bundle the engine declares, its current version and its history. */
  async list(engineName: string): Promise<EngineBundlesView> {
    const { engine } = this.target(engineName);
    const bundles = await Promise.all(
      Object.entries(engine.config.data ?? {}).map(async ([bundle, target]) => {
        const history = (await this.repo.history(engineName, bundle)).map(toVersionView);
        return { bundle, target, current: history.find((v) => v.current) ?? null, history };
      }),
    );
    return { engine: engineName, datacheck: Boolean(engine.config.datacheck), bundles };
  }
}
