import { Injectable } from '@nestjs/common';
import { DataBundleRepository } from '@menagerie/db';
import type { Engine } from '@menagerie/engines';

/** The current version of each data bundle an engine declares, as a new job is given them. */
@Injectable()
export class BundleVersions {
  constructor(private readonly repo: DataBundleRepository) {}

  /**
   * bundle -> its current digest (null: none pushed yet) for every bundle
   * the engine declares; null for an engine without bundles (no query).
   * Read per job: a push changes the very next upload's version, on every
   * replica.
   */
  async digestsFor(engine: Engine): Promise<Record<string, string | null> | null> {
    const declared = Object.keys(engine.config.data ?? {});
    if (!declared.length) return null;
    const current = await this.repo.current(engine.config.name);
    return Object.fromEntries(declared.map((bundle) => [bundle, current.get(bundle)?.digest ?? null]));
  }
}
