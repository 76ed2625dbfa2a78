import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { EngineDataDto } from '../bundles/bundles.dto';
import { API_ERROR_CODES, JOB_STATUSES, SUBMISSION_STATUSES, VERDICTS, type ErrorBody } from '@menagerie/core';

/** Shapes for the OpenAPI document; the API builds these objects in job.view.ts and the controllers. */
export class ErrorDto implements Pick<ErrorBody, 'error' | 'message' | 'correlationId'> {
  @ApiProperty({ enum: API_ERROR_CODES, example: 'ENGINE_UNKNOWN' })
  error!: ErrorBody['error'];
  @ApiProperty({ example: 'no engine named "nope"; GET /engines lists them' })
  message!: string;
  @ApiPropertyOptional({ description: 'present on 500s; quote it to an operator' })
  correlationId?: string;
}

class JobInputDto {
  @ApiProperty({ description: 'the uploaded file name, kept as metadata only' }) name!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) sha256!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "detected from the file's bytes; null for jobs from before it was",
    example: 'application/vnd.android.package-archive',
  })
  mime!: string | null;
}

class JobSubmissionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'GET it for the submission' }) url!: string;
}

class JobResultDto {
  @ApiProperty({ example: 'sample.apktool.tar.gz' }) name!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ example: 'application/gzip' }) mime!: string;
}

class JobReportDto {
  @ApiProperty({ description: "the report's one line", example: 'PE32 executable for i386, 4 sections, UPX-packed' }) summary!: string;
  @ApiProperty({ nullable: true, enum: VERDICTS, description: 'only where the engine can honestly say' }) verdict!: string | null;
  @ApiProperty({ nullable: true, type: String, description: "why, in the engine's words" }) reason!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'how many tags of each type',
    example: { 'yara.rule': 2, 'ioc.url': 5 },
  })
  tags!: Record<string, number>;
  @ApiProperty({ nullable: true, type: String, description: 'GET it for the whole report; null once retention removed it' }) url!:
    string | null;
}

export class JobDto {
  @ApiProperty({ format: 'uuid' }) jobid!: string;
  @ApiProperty({ example: 'apktool' }) engine!: string;
  @ApiProperty({ enum: JOB_STATUSES }) status!: string;
  @ApiProperty({ type: JobInputDto }) input!: JobInputDto;
  @ApiProperty({ description: 'the image reference as configured when the job was uploaded' }) image!: string;
  @ApiProperty({ nullable: true, type: String, description: 'the digest the image resolved to when the job ran' }) imageDigest!:
    string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) exitCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ nullable: true, type: String, description: "the end of the engine's stdout and stderr" }) logTail!: string | null;
  @ApiProperty({ nullable: true, type: JobResultDto }) result!: JobResultDto | null;
  @ApiProperty({ nullable: true, type: String, description: 'GET it for the result bytes' }) resultUrl!: string | null;
  @ApiProperty({
    nullable: true,
    type: JobReportDto,
    description: "what the engine's report.json said (menagerie.report/1); null without one",
  })
  report!: JobReportDto | null;
  @ApiProperty() statusUrl!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "this job's workflow in the Temporal Web UI; null for a cache hit, which has none",
  })
  temporalUrl!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'when retention removed its files' }) expiredAt!:
    string | null;
  @ApiProperty({ nullable: true, type: String, description: 'the worker node that ran the job' }) node!: string | null;
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    description: 'the data bundle versions the job was given, bundle -> digest (null: none pushed yet); null without bundles',
    example: { rules: 'sha256:5f3c…' },
  })
  data!: Record<string, string | null> | null;
  @ApiProperty({ description: 'served from the cache: no container ran for it' }) cached!: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'for a cached job, the job whose result it serves' })
  cachedFrom!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    description: "while queued: the identical job it waits for (its result will be this one's)",
  })
  waitingFor!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'a retry: the job it ran again' }) retryOf!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'the latest retry of this job (POST /jobs/<id>/retry)' })
  retriedAs!: string | null;
  @ApiProperty({ description: 'uploaded with force=true: run whatever the cache held' }) forced!: boolean;
  @ApiProperty({ nullable: true, type: JobSubmissionDto, description: 'the submission it is part of' })
  submission!: JobSubmissionDto | null;
}

export class JobPageDto {
  @ApiProperty({ type: [JobDto] }) items!: JobDto[];
  @ApiProperty({ description: 'how many jobs match: exact when totalExact, else an estimate (PostgreSQL planner) above 1,000' })
  total!: number;
  @ApiProperty({ description: 'false when total is an estimate' }) totalExact!: boolean;
  @ApiProperty({ nullable: true, type: Number, description: 'the page asked for; null for a page asked by cursor' }) page!: number | null;
  @ApiProperty() limit!: number;
  @ApiProperty({ description: 'from total, so an estimate when total is' }) pages!: number;
  @ApiProperty({ nullable: true, type: String, description: 'cursor of the next page (older jobs); null on the last page' }) next!:
    string | null;
  @ApiProperty({ nullable: true, type: String, description: 'next as a URL, with the same filters and limit' }) nextUrl!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'cursor of the previous page (newer jobs); null on the first page' }) prev!:
    string | null;
  @ApiProperty({ nullable: true, type: String, description: 'prev as a URL, with the same filters and limit' }) prevUrl!: string | null;
}

class EngineJobsDto {
  @ApiProperty() queued!: number;
  @ApiProperty() running!: number;
}

class EngineNodeDto {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String, description: "the digest the engine's image resolves to on that node" }) digest!:
    string | null;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
}

@ApiExtraModels(EngineDataDto)
class EngineDto {
  @ApiProperty() name!: string;
  @ApiProperty() image!: string;
  @ApiProperty({ nullable: true, type: String, description: 'the digest on the most recently seen node that serves it' }) imageDigest!:
    string | null;
  @ApiProperty({ description: 'a live worker node serves it' }) available!: boolean;
  @ApiProperty({ nullable: true, type: String }) unavailableReason!: string | null;
  @ApiProperty({ type: [EngineNodeDto], description: 'the live worker nodes that serve it' }) nodes!: EngineNodeDto[];
  @ApiProperty() workers!: number;
  @ApiProperty() sizelimit!: number;
  @ApiProperty() timeout!: number;
  @ApiProperty() inputfilename!: string;
  @ApiProperty() mountpoint!: string;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }) cmd!: string | string[];
  @ApiProperty() user!: string;
  @ApiProperty({ type: [String], description: 'as in engines.json, with `-e NAME` in place of `-e NAME=value`' }) runflags!: string[];
  @ApiProperty({ type: [String], description: 'names of the environment variables the engine is given; never their values' })
  env!: string[];
  @ApiProperty({
    description:
      'seconds a completed result answers identical uploads (engines.json `cachettl`, else default.json `cache.ttl`); 0: no cache',
  })
  cacheTtl!: number;
  @ApiProperty({ nullable: true, type: String, description: 'regular expression on the detected MIME type the engine takes' }) accepts!:
    string | null;
  @ApiProperty({ nullable: true, type: String, description: 'regular expression on the detected MIME type the engine turns away' })
  rejects!: string | null;
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(EngineDataDto) },
    description: 'its data bundles (engines.json `data`): where each is mounted and its current version (GET /engines/<engine>/data)',
  })
  data!: Record<string, EngineDataDto> | null;
  @ApiProperty({ description: 'a pushed bundle is checked by the engine (engines.json `datacheck`)' }) datacheck!: boolean;
  @ApiProperty({ type: EngineJobsDto }) jobs!: EngineJobsDto;
  @ApiProperty() uploadUrl!: string;
}

export class EnginesDto {
  @ApiProperty({ type: [EngineDto] }) engines!: EngineDto[];
}

class CheckDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty() latencyMs!: number;
  @ApiPropertyOptional() error?: string;
}

class ChecksDto {
  @ApiProperty({ type: CheckDto }) database!: CheckDto;
  @ApiProperty({ type: CheckDto }) temporal!: CheckDto;
  @ApiProperty({ type: CheckDto, description: 'the store of inputs, results and logs (a directory, or S3)' }) storage!: CheckDto;
}

class NodeEngineDto {
  @ApiProperty() name!: string;
  @ApiProperty() image!: string;
  @ApiProperty({ nullable: true, type: String }) digest!: string | null;
  @ApiProperty() available!: boolean;
  @ApiProperty({ nullable: true, type: String }) reason!: string | null;
}

class NodeRunningDto {
  @ApiProperty({ format: 'uuid' }) jobId!: string;
  @ApiProperty() engine!: string;
}

class NodeDto {
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'reported within the last three report intervals' }) live!: boolean;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ type: [NodeEngineDto] }) engines!: NodeEngineDto[];
  @ApiProperty({ type: [NodeRunningDto] }) running!: NodeRunningDto[];
}

export class NodesDto {
  @ApiProperty({ type: [NodeDto] }) nodes!: NodeDto[];
}

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status!: string;
  @ApiProperty({ type: ChecksDto }) checks!: ChecksDto;
}

export class UploadDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'exactly one file' })
  upload!: unknown;
  @ApiPropertyOptional({
    description: 'true: run the engine even if the result cache has an answer (also as the query parameter force)',
    example: 'true',
  })
  force?: string;
  @ApiPropertyOptional({
    description: "a URL to POST the job's end to, signed (when not given on the query); it must start with one of webhooks.callbackAllow",
  })
  callback?: string;
}

export class SubmitDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'exactly one file' })
  upload!: unknown;
  @ApiPropertyOptional({
    description: 'engine names separated by commas, or auto (when not given on the query)',
    example: 'apktool,filemeta',
  })
  engines?: string;
  @ApiPropertyOptional({ description: 'true: run every engine whatever the cache holds (when not given on the query)' })
  force?: string;
  @ApiPropertyOptional({
    description:
      "a URL to POST each job's end and the submission's to, signed (when not given on the query); it must start with one of webhooks.callbackAllow",
  })
  callback?: string;
}

class SubmissionInputDto {
  @ApiProperty({ description: 'the uploaded file name, kept as metadata only' }) name!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) sha256!: string;
  @ApiProperty({ description: "detected from the file's bytes", example: 'application/vnd.android.package-archive' }) mime!: string;
}

class SubmissionSummaryDto {
  @ApiProperty() total!: number;
  @ApiProperty() queued!: number;
  @ApiProperty() running!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() timed_out!: number;
  @ApiProperty() cancelled!: number;
  @ApiProperty({ description: 'completed from the cache' }) cached!: number;
}

export class SubmissionDto {
  @ApiProperty({ format: 'uuid' }) submissionId!: string;
  @ApiProperty({
    enum: SUBMISSION_STATUSES,
    description:
      'running while any job is queued or running; completed: all completed; completed_with_failures: all ended, some completed; failed: none completed',
  })
  status!: string;
  @ApiProperty({ type: SubmissionInputDto, description: 'the file, stored once for all its jobs' }) input!: SubmissionInputDto;
  @ApiProperty({ description: 'what was asked: auto, or the engines as listed', example: 'apktool,filemeta' }) requested!: string;
  @ApiProperty() forced!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'when retention removed the shared input (every job of it had expired)',
  })
  expiredAt!: string | null;
  @ApiProperty({ type: [JobDto], description: 'one per engine, each also at /result/<jobid>, in the order asked' }) jobs!: JobDto[];
  @ApiProperty({ type: SubmissionSummaryDto }) summary!: SubmissionSummaryDto;
  @ApiProperty() statusUrl!: string;
}
