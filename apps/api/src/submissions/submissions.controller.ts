import {
  Controller,
  createParamDecorator,
  Delete,
  Get,
  HttpCode,
  Inject,
  Post,
  Query,
  Req,
  Res,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { canonicalSubmissionId } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { ErrorDto, SubmissionDto, SubmitDto } from '../common/openapi.dto';
import { CONFIG } from '../common/tokens';
import { SubmissionService, type SubmissionWithJobs } from './submission.service';
import { ApiMetrics } from '@menagerie/metrics';
import { toSubmissionView, type SubmissionView } from './submission.view';

/**
 * The `:id` of a submission route, checked and lower-cased. Not `@Param('id')`:
 * the global JobIdPipe takes every `:id` parameter for a job id, and a bad
 * submission id answers INVALID_SUBMISSION_ID.
 */
const SubmissionId = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  canonicalSubmissionId(ctx.switchToHttp().getRequest<Request>().params.id),
);

const ID = { name: 'id', description: 'the submission id (a UUID) from the POST /submit answer', format: 'uuid' };
const BAD_ID = { status: 400, type: ErrorDto, description: 'INVALID_SUBMISSION_ID: not a UUID' };
const NOT_FOUND = { status: 404, type: ErrorDto, description: 'SUBMISSION_NOT_FOUND' };

@ApiTags('submissions')
@Controller()
export class SubmissionsController {
  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly submissions: SubmissionService,
    private readonly metrics: ApiMetrics,
  ) {}

  private view({ submission, jobs }: SubmissionWithJobs): SubmissionView {
    return toSubmissionView(
      submission,
      jobs,
      this.config.settings,
      this.config.engines.map((e) => e.config.name),
    );
  }

  @Post('submit')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Submit one file to several engines',
    description:
      'Stores the file once and queues one job per engine, all or none. `curl -XPOST "/submit?engines=apktool,filemeta" -F "upload=@file"`; ' +
      '`engines=auto` runs every engine whose `accepts`/`rejects` take the detected type and whose sizelimit takes the file. ' +
      '`engines` and `force` may be query parameters or form fields (the query wins).',
  })
  @ApiQuery({
    name: 'engines',
    required: false,
    description: 'engine names separated by commas, or auto; else the form field engines',
    example: 'apktool,filemeta',
  })
  @ApiQuery({ name: 'force', required: false, description: 'true: run every engine whatever the cache holds' })
  @ApiQuery({
    name: 'callback',
    required: false,
    description:
      "a URL to POST each job's end and submission.completed to, signed (docs/api.md, Webhooks); it must start with one of webhooks.callbackAllow. Also a form field",
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: SubmitDto })
  @ApiResponse({ status: 201, type: SubmissionDto, description: 'queued; Location: /submission/<id>' })
  @ApiResponse({
    status: 400,
    type: ErrorDto,
    description:
      'INVALID_ENGINES (missing, empty entry, duplicate, auto with others), UPLOAD_MISSING, UPLOAD_TOO_MANY_FILES, UPLOAD_EMPTY, MALFORMED_UPLOAD; CALLBACK_NOT_ALLOWED (nothing kept)',
  })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'ENGINE_UNKNOWN' })
  @ApiResponse({
    status: 408,
    type: ErrorDto,
    description: 'UPLOAD_TIMEOUT: nothing arrived for api.uploadIdleSeconds, or less than api.minUploadBytesPerSecond',
  })
  @ApiResponse({
    status: 413,
    type: ErrorDto,
    description: "UPLOAD_TOO_LARGE: over a named engine's sizelimit (over every engine's, for auto)",
  })
  @ApiResponse({ status: 415, type: ErrorDto, description: 'NOT_MULTIPART' })
  @ApiResponse({
    status: 422,
    type: ErrorDto,
    description:
      'ENGINE_REFUSES_TYPE: a named engine does not take the detected type; NO_ENGINE_ACCEPTS: for auto, none does. Nothing was kept',
  })
  @ApiResponse({
    status: 503,
    type: ErrorDto,
    description: 'SCHEDULER_UNAVAILABLE, DATABASE_UNAVAILABLE, STORAGE_UNAVAILABLE, UPLOADS_BUSY or ENGINE_UNAVAILABLE: nothing was kept',
  })
  @ApiResponse({ status: 507, type: ErrorDto, description: 'STORAGE_FULL' })
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query('engines') engines?: unknown,
    @Query('force') force?: unknown,
    @Query('callback') callback?: unknown,
  ): Promise<SubmissionView> {
    const created = await this.metrics.timeUpload(
      'submit',
      () => this.submissions.submit(req, { engines, force, callback }),
      (accepted) => accepted.submission.size,
    );
    res.setHeader('Location', `/submission/${created.submission.id}`);
    return this.view(created);
  }

  @Get('submission/:id')
  @ApiOperation({
    summary: 'The submission: its file, one job per engine, an overall status and a summary',
    description:
      'status: running while any job is queued or running; completed when all completed; completed_with_failures when all ended and some completed; failed when none completed. ' +
      'With ?wait=N, answers once every job has ended or N seconds (at most 60) have passed.',
  })
  @ApiParam(ID)
  @ApiQuery({ name: 'wait', required: false, type: Number, description: 'seconds to wait for every job to end, 0 to 60' })
  @ApiResponse({ status: 200, type: SubmissionDto })
  @ApiResponse({ ...BAD_ID, description: 'INVALID_SUBMISSION_ID: not a UUID; INVALID_QUERY: wait out of range' })
  @ApiResponse(NOT_FOUND)
  async get(@SubmissionId() id: string, @Res({ passthrough: true }) res: Response, @Query('wait') wait?: string): Promise<SubmissionView> {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    return this.view(await this.submissions.getWhenDone(id, wait, gone.signal));
  }

  @Delete('submission/:id')
  @ApiOperation({
    summary: 'Cancel every job of the submission still queued or running',
    description: 'Their containers are killed; they end cancelled.',
  })
  @ApiParam(ID)
  @ApiResponse({ status: 200, type: SubmissionDto, description: 'every job has ended' })
  @ApiResponse({ status: 202, type: SubmissionDto, description: 'some jobs are still stopping' })
  @ApiResponse(BAD_ID)
  @ApiResponse(NOT_FOUND)
  @ApiResponse({ status: 409, type: ErrorDto, description: 'SUBMISSION_NOT_CANCELLABLE: every job of it had already ended' })
  async cancel(@SubmissionId() id: string, @Res({ passthrough: true }) res: Response): Promise<SubmissionView> {
    const view = this.view(await this.submissions.cancel(id));
    res.status(view.status === 'running' ? 202 : 200);
    return view;
  }
}
