import type { DataSource, Repository } from 'typeorm';
import type { NodeReport } from '@menagerie/core';
import { NodeEntity } from './node.entity';

export interface NodeView extends NodeEntity {
  /** Seconds since the node last reported, by the database's clock. */
  ageSeconds: number;
}

/** The only place that touches the nodes table. */
export class NodeRepository {
  private readonly repo: Repository<NodeEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(NodeEntity);
  }

  /** Records what a node reports, stamped with the database's clock (nodes' clocks may differ). */
  async report(node: NodeReport, startedAt: Date): Promise<void> {
    await this.repo.query(
      `INSERT INTO nodes (name, engines, running, scratch_dir, started_at, last_seen_at)
       VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, now())
       ON CONFLICT (name) DO UPDATE SET engines = EXCLUDED.engines, running = EXCLUDED.running,
         scratch_dir = EXCLUDED.scratch_dir, started_at = EXCLUDED.started_at, last_seen_at = now()`,
      [node.name, JSON.stringify(node.engines), JSON.stringify(node.running), node.scratchDir, startedAt],
    );
  }

  /** Every node that ever reported, most recently seen first, with how long ago that was. */
  async list(): Promise<NodeView[]> {
    const rows = await this.repo
      .createQueryBuilder('node')
      .addSelect('EXTRACT(EPOCH FROM (now() - node.last_seen_at))', 'age')
      .orderBy('node.lastSeenAt', 'DESC')
      .addOrderBy('node.name', 'ASC')
      .getRawAndEntities();
    return rows.entities.map((entity, i) => ({ ...entity, ageSeconds: Number((rows.raw[i] as { age: string }).age) }));
  }

  /** Forgets nodes not seen for `seconds` (a node that was retired for good). */
  async forgetOlderThan(seconds: number): Promise<number> {
    const result = await this.repo
      .createQueryBuilder()
      .delete()
      .where(`last_seen_at < now() - make_interval(secs => :seconds)`, { seconds })
      .execute();
    return result.affected ?? 0;
  }
}
