import { ApiProperty } from '@nestjs/swagger';
import { WEBHOOK_EVENTS } from '@menagerie/core';

/** OpenAPI shapes of GET /jobs/<id>/webhooks and GET /submission/<id>/webhooks (built by webhook.view.ts). */
class WebhookAttemptDto {
  @ApiProperty({ description: 'from 1' }) attempt!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ nullable: true, type: Number, description: "the receiver's HTTP status; null when none answered" }) statusCode!:
    number | null;
  @ApiProperty() latencyMs!: number;
  @ApiProperty({ nullable: true, type: String, example: 'HTTP 500: try later' }) error!: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid', description: "also the X-Menagerie-Delivery header and the body's deliveryId: the same at every attempt" })
  deliveryId!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) event!: string;
  @ApiProperty({
    enum: ['target', 'callback'],
    description: 'a deployment-wide target (default.json), or the callback given with the upload or submission',
  })
  receiver!: string;
  @ApiProperty({ description: 'without its query string' }) url!: string;
  @ApiProperty({ enum: ['pending', 'delivering', 'delivered', 'failed'] }) status!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) jobId!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) submissionId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ type: [WebhookAttemptDto] }) attempts!: WebhookAttemptDto[];
}
