import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { NodeEngine, NodeReport } from '@menagerie/core';

/** A worker node, as it last reported itself. */
@Entity({ name: 'nodes' })
export class NodeEntity {
  @PrimaryColumn('varchar', { length: 63 })
  name!: string;

  @Column('jsonb')
  engines!: NodeEngine[];

  @Column('jsonb')
  running!: NodeReport['running'];

  @Column('text', { name: 'scratch_dir' })
  scratchDir!: string;

  @Column('timestamptz', { name: 'started_at' })
  startedAt!: Date;

  @Column('timestamptz', { name: 'last_seen_at' })
  lastSeenAt!: Date;
}
