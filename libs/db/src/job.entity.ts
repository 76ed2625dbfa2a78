import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { JobStatus, ReportDigest } from '@menagerie/core';

/** bigint comes back from pg as a string; sizes fit comfortably in a double. */
export const bigintAsNumber = {
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

  /** What the engine's report.json said (migration 1764900000000); null without one. The report is in the store. */
  @Column('jsonb', { nullable: true })
  report!: ReportDigest | null;

  /**
   * The data bundle versions the job was given (bundle -> digest; null: none
   * was pushed yet), taken at upload (migration 1765000000000); null for an
   * engine without bundles, and for jobs from before them.
   */
  @Column('jsonb', { nullable: true })
  data!: Record<string, string | null> | null;

  /** The worker node that ran the job (its last attempt); null until one did, and for jobs from before nodes. */
  @Column('varchar', { length: 63, nullable: true })
  node!: string | null;

  /** The type detected from the input's bytes; null for jobs from before it was. */
  @Column('text', { name: 'input_mime', nullable: true })
  inputMime!: string | null;

  /** The result cache's key of what the job runs (migration 1764700000000). */
  @Column('char', { name: 'cache_key', length: 64, nullable: true })
  cacheKey!: string | null;

  /** A completed hit: the job whose result it serves. A queued follower: the identical job it waits for. */
  @Column('uuid', { name: 'cached_from', nullable: true })
  cachedFrom!: string | null;

  /** Uploaded with force=true: it ran whatever the cache held. */
  @Column('boolean', { default: false })
  forced!: boolean;

  @Column('uuid', { name: 'submission_id', nullable: true })
  submissionId!: string | null;

  /** Whose stored input it reads; null: its own. */
  @Column('uuid', { name: 'input_from', nullable: true })
  inputFrom!: string | null;

  /** A retry (POST /jobs/<id>/retry): the job it runs again. */
  @Column('uuid', { name: 'retry_of', nullable: true })
  retryOf!: string | null;

  /** The latest retry of this job. */
  @Column('uuid', { name: 'retried_as', nullable: true })
  retriedAs!: string | null;

  /** When retention removed the job's files; the row stays. */
  @Column('timestamptz', { name: 'expired_at', nullable: true })
  expiredAt!: Date | null;
}
