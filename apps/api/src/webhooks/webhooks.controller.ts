import { Controller, createParamDecorator, Get, Inject, Param, type ExecutionContext } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { canonicalSubmissionId } from '@menagerie/core';
import { SubmissionRepository, type JobRepository, type WebhookRepository } from '@menagerie/db';
import { ErrorDto } from '../common/openapi.dto';
import { JOB_REPOSITORY, WEBHOOK_REPOSITORY } from '../common/tokens';
import { WebhookDeliveryDto } from './webhook.dto';
import { toWebhookView, type WebhookDeliveryView } from './webhook.view';

/** A submission's `:id`, checked and lower-cased (the global JobIdPipe takes `@Param('id')` for a job id). */
const SubmissionId = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  canonicalSubmissionId(ctx.switchToHttp().getRequest<Request>().params.id),
);

@ApiTags('webhooks')
@Controller()
export class WebhooksController {
  constructor(
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(SubmissionRepository) private readonly submissions: SubmissionRepository,
    @Inject(WEBHOOK_REPOSITORY) private readonly webhooks: WebhookRepository,
  ) {}

  @Get('jobs/:id/webhooks')
  @ApiOperation({
    summary: "The job's webhook deliveries, each with every attempt",
    description: 'One per event and receiver; oldest first. Empty when no target or callback wanted its events.',
  })
  @ApiParam({ name: 'id', description: 'the job id (a UUID)', format: 'uuid' })
  @ApiResponse({ status: 200, type: [WebhookDeliveryDto] })
  @ApiResponse({ status: 400, type: ErrorDto, description: 'INVALID_JOB_ID: not a UUID' })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'JOB_NOT_FOUND' })
  async ofJob(@Param('id') id: string): Promise<WebhookDeliveryView[]> {
    await this.jobs.get(id);
    return (await this.webhooks.ofJob(id)).map(toWebhookView);
  }

  @Get('submission/:id/webhooks')
  @ApiOperation({ summary: "The submission's webhook deliveries: its submission.completed and its jobs' events" })
  @ApiParam({ name: 'id', description: 'the submission id (a UUID)', format: 'uuid' })
  @ApiResponse({ status: 200, type: [WebhookDeliveryDto] })
  @ApiResponse({ status: 400, type: ErrorDto, description: 'INVALID_SUBMISSION_ID: not a UUID' })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'SUBMISSION_NOT_FOUND' })
  async ofSubmission(@SubmissionId() id: string): Promise<WebhookDeliveryView[]> {
    await this.submissions.get(id);
    return (await this.webhooks.ofSubmission(id)).map(toWebhookView);
  }
}
