import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { MenagerieConfig } from '@menagerie/config';
import { MenagerieError } from '@menagerie/core';
import { ApiMetrics, METRICS_UNAUTHORIZED, metricsAuthorized } from '@menagerie/metrics';
import { Public } from '../common/access';
import { CONFIG } from '../common/tokens';

/**
 * GET /metrics, in Prometheus' text format (counts by engine, status, route
 * and code: never a job id, file name or hash). With metrics.token set, that
 * token, and no API key, lets a scrape in, so that Prometheus holds no key
 * that could upload; without one, an API key does when keys are set; open
 * only when neither is (see metricsAuthorized). Not in the OpenAPI document:
 * it is for Prometheus, not for clients.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly metrics: ApiMetrics,
  ) {}

  @Get()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = req.headers['x-api-key'];
    const authorization = req.headers.authorization ?? (typeof key === 'string' && key ? `Bearer ${key}` : undefined);
    const { metrics, auth } = this.config.settings;
    if (!metricsAuthorized(authorization, metrics.token, auth.apiKeys)) {
      throw new MenagerieError('UNAUTHORIZED', METRICS_UNAUTHORIZED.message);
    }
    const { contentType, body } = await this.metrics.scrape();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  }
}
