import type { DataBundleVersion } from '@menagerie/db';

/** A bundle version as the API shows it. */
export interface BundleVersionView {
  digest: string;
  size: number;
  files: number;
  pushedAt: string;
  /** The end of what the engine's datacheck printed of it; null without a datacheck. */
  checkLog: string | null;
  current: boolean;
}

/** The answer to a push: the version now current. `changed` false: it was current already, and nothing changed. */
export interface PushView extends BundleVersionView {
  engine: string;
  bundle: string;
  changed: boolean;
}

/** GET /engines/<engine>/data: each bundle the engine declares, its current version and its history (newest first). */
export interface EngineBundlesView {
  engine: string;
  datacheck: boolean;
  bundles: Array<{ bundle: string; target: string; current: BundleVersionView | null; history: BundleVersionView[] }>;
}

export function toVersionView(v: DataBundleVersion): BundleVersionView {
  return { digest: v.digest, size: v.size, files: v.files, pushedAt: v.pushedAt.toISOString(), checkLog: v.checkLog, current: v.current };
}
