import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { JobStatus } from '@menagerie/core';

/** bigint comes back from pg as a string; sizes fit comfortably in a double. */
const bigintAsNumber = {
  to: (v: number | null) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};

/** Its indexes are in the migrations (1764500000000-history-indexes): operator classes and GIN are beyond the decorators. */
@Entity({ name: 'jobs' })
export class JobEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('varchar', { length: 63 })
  engine!: string;

  @Column('varchar', { length: 16 })
  status!: JobStatus;

  @Column('text', { name: 'original_name' })
  originalName!: string;

  @Column('bigint', { transformer: bigintAsNumber })
  size!: number;

  @Column('char', { length: 64 })
  sha256!: string;

  @Column('text')
  image!: string;

  @Column('text', { name: 'image_digest', nullable: true })
  imageDigest!: string | null;

  @Column('text', { name: 'workflow_id' })
  workflowId!: string;

  @Column('text', { name: 'run_id', nullable: true })
  runId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  @Column('int', { name: 'exit_code', nullable: true })
  exitCode!: number | null;

  @Column('text', { nullable: true })
  error!: string | null;

  @Column('text', { name: 'log_tail', nullable: true })
  logTail!: string | null;

  @Column('text', { name: 'result_name', nullable: true })
  resultName!: string | null;

  @Column('bigint', { name: 'result_size', nullable: true, transformer: bigintAsNumber })
  resultSize!: number | null;

  @Column('text', { name: 'result_mime', nullable: true })
  resultMime!: string | null;

  /** The worker node that ran the job (its last attempt); null until one did, and for jobs from before nodes. */
  @Column('varchar', { length: 63, nullable: true })
  node!: string | null;

  /** When retention removed the job's files; the row stays. */
  @Column('timestamptz', { name: 'expired_at', nullable: true })
  expiredAt!: Date | null;
}
