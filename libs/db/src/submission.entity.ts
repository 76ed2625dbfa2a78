import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './job.entity';

/** One upload analysed by several engines: its jobs carry its id (jobs.submission_id) and read its stored input. */
@Entity({ name: 'submissions' })
export class SubmissionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('text', { name: 'original_name' })
  originalName!: string;

  @Column('bigint', { transformer: bigintAsNumber })
  size!: number;

  @Column('char', { length: 64 })
  sha256!: string;

  @Column('text', { name: 'input_mime' })
  inputMime!: string;

  /** What was asked: "auto", or the engines as listed. */
  @Column('text')
  requested!: string;

  @Column('boolean', { default: false })
  forced!: boolean;

  /** When retention removed the shared input, once every job using it had expired. */
  @Column('timestamptz', { name: 'expired_at', nullable: true })
  expiredAt!: Date | null;
}
