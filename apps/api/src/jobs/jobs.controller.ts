import { Controller, Delete, Get, HttpCode, Inject, Logger, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { JOB_STATUSES } from '@menagerie/core';
import { ErrorDto, JobDto, JobPageDto, UploadDto } from '../common/openapi.dto';
import { isFinalStatus } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { streamTo } from '../common/stream-to';
import { CONFIG } from '../common/tokens';
import { JobService } from './job.service';
import { toJobPageView, type JobPageView } from './job-page.view';
import { toJobView, type JobView } from './job.view';
import { UploadService } from './upload.service';
import { ApiMetrics } from '@menagerie/metrics';

/** RFC 6266: an ASCII fallback plus the exact name in UTF-8. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const ID = { name: 'id', description: 'the job id (a UUID) from the upload answer', format: 'uuid' };
const BAD_ID = { status: 400, type: ErrorDto, description: 'INVALID_JOB_ID: not a UUID' };
const NO_JOB = { status: 404, type: ErrorDto, description: 'JOB_NOT_FOUND' };

@ApiTags('jobs')
@Controller()
export class JobsController {
  private readonly logger = new Logger(JobsController.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly uploads: UploadService,
    private readonly jobs: JobService,
    private readonly metrics: ApiMetrics,
  ) {}

  /** The original curl interface: `curl -XPOST /<engine>/upload -F "upload=@file"`. */
  @Post(':engine/upload')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Upload a file to an engine',
    description: 'Streams the file to storage and queues a job. `curl -XPOST /<engine>/upload -F "upload=@file"`',
  })
  @ApiParam({ name: 'engine', description: 'an engine name from GET /engines', example: 'apktool' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadDto })
  @ApiQuery({ name: 'force', required: false, description: 'true: run the engine even if the result cache has an answer' })
  @ApiQuery({
    name: 'callback',
    required: false,
    description:
      "a URL to POST the job's end to, signed (docs/api.md, Webhooks); it must start with one of webhooks.callbackAllow. Also a form field",
  })
  @ApiResponse({
    status: 201,
    type: JobDto,
    description: 'queued; or already completed, `cached: true`, when the result cache answered. Location: /result/<id>',
  })
  @ApiResponse({
    status: 422,
    type: ErrorDto,
    description: "ENGINE_REFUSES_TYPE: the engine's accepts/rejects turns the detected type away",
  })
  @ApiResponse({
    status: 400,
    type: ErrorDto,
    description: 'UPLOAD_MISSING, UPLOAD_TOO_MANY_FILES, UPLOAD_EMPTY, MALFORMED_UPLOAD; CALLBACK_NOT_ALLOWED (nothing kept)',
  })
  @ApiResponse({
    status: 408,
    type: ErrorDto,
    description: 'UPLOAD_TIMEOUT: nothing arrived for api.uploadIdleSeconds, or less than api.minUploadBytesPerSecond',
  })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'ENGINE_UNKNOWN' })
  @ApiResponse({ status: 413, type: ErrorDto, description: "UPLOAD_TOO_LARGE: over the engine's sizelimit" })
  @ApiResponse({ status: 415, type: ErrorDto, description: 'NOT_MULTIPART' })
  @ApiResponse({
    status: 503,
    type: ErrorDto,
    description:
      'SCHEDULER_UNAVAILABLE, DATABASE_UNAVAILABLE, STORAGE_UNAVAILABLE (the store does not answer), UPLOADS_BUSY (every part buffer taken), or ENGINE_UNAVAILABLE (no live node can run the engine): nothing was kept',
  })
  @ApiResponse({ status: 507, type: ErrorDto, description: 'STORAGE_FULL' })
  async upload(
    @Param('engine') engine: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query('force') force?: string,
    @Query('callback') callback?: string,
  ): Promise<JobView> {
    const job = await this.metrics.timeUpload(
      'upload',
      () => this.uploads.upload(engine, req, force, callback),
      (accepted) => accepted.size,
    );
    res.setHeader('Location', `/result/${job.id}`);
    return toJobView(job, this.config.settings);
  }

  @Get('result/:id')
  @ApiOperation({
    summary: 'The job as JSON',
    description: 'With ?wait=N, answers once the job has ended or N seconds (at most 60) have passed.',
  })
  @ApiParam(ID)
  @ApiQuery({ name: 'wait', required: false, type: Number, description: 'seconds to wait for the job to end, 0 to 60' })
  @ApiResponse({ status: 200, type: JobDto })
  @ApiResponse({ ...BAD_ID, description: 'INVALID_JOB_ID: not a UUID; INVALID_QUERY: wait out of range' })
  @ApiResponse(NO_JOB)
  async result(@Param('id') id: string, @Res({ passthrough: true }) res: Response, @Query('wait') wait?: string): Promise<JobView> {
    // A client that hangs up stops its wait (and the long poll behind it).
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    return toJobView(await this.jobs.getWhenDone(id, wait, gone.signal), this.config.settings);
  }

  @Get('link/:id')
  @ApiOperation({ summary: "The result file's bytes", description: 'With Content-Disposition naming the file.' })
  @ApiParam(ID)
  @ApiProduces('application/octet-stream')
  @ApiResponse({
    status: 200,
    description: 'the result file',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiResponse(BAD_ID)
  @ApiResponse({ status: 404, type: ErrorDto, description: 'JOB_NOT_FOUND, or RESULT_NOT_READY while the job has no result' })
  @ApiResponse({ status: 410, type: ErrorDto, description: 'RESULT_EXPIRED: removed by retention' })
  async link(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const file = await this.jobs.result(id);
    res.setHeader('Content-Type', file.mime);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Content-Disposition', contentDisposition(file.name));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    streamTo(res, file.stream, this.logger, { jobId: id }, 'the stored result');
  }

  @Get('report/:id')
  @ApiOperation({
    summary: "The engine's report (menagerie.report/1)",
    description: 'Summary, verdict, typed tags, sections and children, as the engine wrote it; the schema is schemas/report.schema.json.',
  })
  @ApiParam(ID)
  @ApiProduces('application/json')
  @ApiResponse({ status: 200, description: 'the report', content: { 'application/json': { schema: { type: 'object' } } } })
  @ApiResponse(BAD_ID)
  @ApiResponse({
    status: 404,
    type: ErrorDto,
    description:
      'JOB_NOT_FOUND; RESULT_NOT_READY while the job has no result; NO_REPORT: the engine wrote none (its result is at /link/<id>)',
  })
  @ApiResponse({ status: 410, type: ErrorDto, description: 'RESULT_EXPIRED: removed by retention' })
  async report(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const stream = await this.jobs.report(id);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    streamTo(res, stream, this.logger, { jobId: id }, 'the stored report');
  }

  @Get('jobs')
  @ApiOperation({
    summary: 'Job history, newest first',
    description:
      'Pages by cursor: follow `next` (or `nextUrl`) for older jobs and `prev` for newer ones; a cursor page costs the same at any depth and does not shift when new jobs arrive. ' +
      '`page` serves the first pages only (up to 100, and 2,000 rows in). `total` is exact when `totalExact` is true (up to 1,000 matches), else an estimate.',
  })
  @ApiQuery({ name: 'engine', required: false })
  @ApiQuery({ name: 'status', required: false, enum: JOB_STATUSES })
  @ApiQuery({ name: 'sha256', required: false })
  @ApiQuery({
    name: 'tag',
    required: false,
    description: "`<type>:<value>`: jobs whose report has that tag (or that were served such a job's result)",
    example: 'yara.rule:Office_AutoOpen',
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'the `next` or `prev` of an earlier answer, as given; not with `page`' })
  @ApiQuery({
    name: 'page',
    required: false,
    type: Number,
    description: 'from 1 to 100, at most 2,000 rows in (page × limit); deeper, use `cursor`',
  })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1 to 100, default 20' })
  @ApiResponse({ status: 200, type: JobPageDto })
  @ApiResponse({ status: 400, type: ErrorDto, description: 'INVALID_QUERY (also a cursor this API did not give, or a page past 100)' })
  async list(@Query() query: Record<string, unknown>): Promise<JobPageView> {
    return toJobPageView(await this.jobs.list(query), '/jobs', query, this.config.settings);
  }

  @Get('jobs/:id')
  @ApiOperation({ summary: 'The job as JSON (same as /result/<id>)' })
  @ApiParam(ID)
  @ApiResponse({ status: 200, type: JobDto })
  @ApiResponse(BAD_ID)
  @ApiResponse(NO_JOB)
  async get(@Param('id') id: string): Promise<JobView> {
    return toJobView(await this.jobs.get(id), this.config.settings);
  }

  @Post('jobs/:id/retry')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Run an ended job again, as a new job',
    description:
      "The same input and the engine's current definition; the cache is not asked. The new job has `retryOf`, the old one `retriedAs`.",
  })
  @ApiParam(ID)
  @ApiResponse({ status: 201, type: JobDto, description: 'the new job, queued; Location: /result/<new id>' })
  @ApiResponse(BAD_ID)
  @ApiResponse({ status: 404, type: ErrorDto, description: 'JOB_NOT_FOUND, or ENGINE_UNKNOWN: the engine is no longer configured' })
  @ApiResponse({ status: 409, type: ErrorDto, description: 'JOB_NOT_ENDED: it is still queued or running' })
  @ApiResponse({ status: 410, type: ErrorDto, description: 'INPUT_EXPIRED: retention removed its input' })
  async retry(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<JobView> {
    const job = await this.jobs.retry(id);
    res.setHeader('Location', `/result/${job.id}`);
    return toJobView(job, this.config.settings);
  }

  @Delete('jobs/:id')
  @ApiOperation({ summary: 'Cancel a queued or running job', description: 'Its container is killed; the job ends cancelled.' })
  @ApiParam(ID)
  @ApiResponse({ status: 200, type: JobDto, description: 'cancelled' })
  @ApiResponse({ status: 202, type: JobDto, description: 'still stopping' })
  @ApiResponse(BAD_ID)
  @ApiResponse(NO_JOB)
  @ApiResponse({ status: 409, type: ErrorDto, description: 'JOB_NOT_CANCELLABLE: it already ended' })
  async cancel(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<JobView> {
    const job = await this.jobs.cancel(id);
    res.status(isFinalStatus(job.status) ? 200 : 202);
    return toJobView(job, this.config.settings);
  }
}
