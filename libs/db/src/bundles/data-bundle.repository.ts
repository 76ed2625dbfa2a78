import type { DataSource } from 'typeorm';

/** A version of an engine's data bundle that passed its check. */
export interface DataBundleVersion {
  engine: string;
  bundle: string;
  digest: string;
  size: number;
  files: number;
  pushedAt: Date;
  /** What the engine's datacheck said of it (its output's tail); null without a datacheck. */
  checkLog: string | null;
  current: boolean;
}

export type NewDataBundleVersion = Omit<DataBundleVersion, 'pushedAt' | 'current'>;

interface Row {
  engine: string;
  bundle: string;
  digest: string;
  size: string;
  files: number;
  pushed_at: Date;
  check_log: string | null;
  current: boolean;
}

const COLUMNS = 'engine, bundle, digest, size, files, pushed_at, check_log, current';

function version(r: Row): DataBundleVersion {
  return {
    engine: r.engine,
    bundle: r.bundle,
    digest: r.digest,
    size: Number(r.size),
    files: r.files,
    pushedAt: r.pushed_at,
    checkLog: r.check_log,
    current: r.current,
  };
}

/** PostgreSQL text can't hold NUL; a check's output may contain anything. */
const text = (value: string | null) => (value === null ? null : value.replace(/\u0000/g, '\ufffd'));

/** The only place that touches the data_bundles table: each engine's bundle versions, one current. */
export class DataBundleRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Makes `v` the current version of its engine's bundle, the one before it
   * staying as history, in one transaction; pushes of one bundle are taken
   * one at a time (an advisory lock), so the last one recorded is current.
   * A version that is current already changes nothing: `changed` false.
   */
  async recordCurrent(v: NewDataBundleVersion): Promise<{ version: DataBundleVersion; changed: boolean }> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('data_bundles'), hashtext($1 || '/' || $2))`, [v.engine, v.bundle]);
      const now: Row[] = await tx.query(`SELECT ${COLUMNS} FROM data_bundles WHERE engine = $1 AND bundle = $2 AND current`, [
        v.engine,
        v.bundle,
      ]);
      if (now[0]?.digest === v.digest) return { version: version(now[0]), changed: false };
      await tx.query(`UPDATE data_bundles SET current = false WHERE engine = $1 AND bundle = $2 AND current`, [v.engine, v.bundle]);
      const [row]: Row[] = await tx.query(
        `INSERT INTO data_bundles (engine, bundle, digest, size, files, check_log, current) VALUES ($1, $2, $3, $4, $5, $6, true)
         RETURNING ${COLUMNS}`,
        [v.engine, v.bundle, v.digest, v.size, v.files, text(v.checkLog)],
      );
      return { version: version(row), changed: true };
    });
  }

  /** The current version of each bundle of `engine` that has one, by bundle name. */
  async current(engine: string): Promise<Map<string, DataBundleVersion>> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM data_bundles WHERE engine = $1 AND current`, [engine]);
    return new Map(rows.map((r) => [r.bundle, version(r)]));
  }

  /** The current digest of every engine's bundles (engine -> bundle -> digest): one query, for GET /engines. */
  async currentDigests(): Promise<Map<string, Record<string, string>>> {
    const rows: Array<{ engine: string; bundle: string; digest: string }> = await this.dataSource.query(
      `SELECT engine, bundle, digest FROM data_bundles WHERE current`,
    );
    const by = new Map<string, Record<string, string>>();
    for (const r of rows) by.set(r.engine, { ...by.get(r.engine), [r.bundle]: r.digest });
    return by;
  }

  /** Every version current for some engine's bundle: what nodes keep their copies of. */
  async currentSet(): Promise<Set<string>> {
    const rows: Array<{ digest: string }> = await this.dataSource.query(`SELECT DISTINCT digest FROM data_bundles WHERE current`);
    return new Set(rows.map((r) => r.digest));
  }

  /** The versions of one bundle, newest first (the current one among them), at most `limit`. */
  async history(engine: string, bundle: string, limit = 50): Promise<DataBundleVersion[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM data_bundles WHERE engine = $1 AND bundle = $2 ORDER BY pushed_at DESC, id DESC LIMIT $3`,
      [engine, bundle, limit],
    );
    return rows.map(version);
  }

  /** Whether any version of any engine's bundle has this digest: its stored tar is then still wanted. */
  async known(digest: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM data_bundles WHERE digest = $1 LIMIT 1`, [digest]);
    return rows.length > 0;
  }
}
