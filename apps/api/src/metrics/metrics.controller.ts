import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { MenagerieConfig } from '@menagerie/config';
import { MenagerieError } from '@menagerie/core';
import { ApiMetrics, METRICS_UNAUTHORIZED, metricsAuthorized } from '@menagerie/metrics';
import { Public } from '../common/access';
import { CONFIG } from '../common/tokens';

/**
 * GET /metrics, in Prometheus' text format. Open like /health (counts by
 * engine, status, route and code: never a job id, file name or hash), unless
 * metrics.token is set; then that token, and no API key, lets a scrape in, so
 * that Prometheus holds no key that could upload. Not in the OpenAPI document:
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
    if (!metricsAuthorized(req.headers.authorization, this.config.settings.metrics.token)) {
      throw new MenagerieError('UNAUTHORIZED', METRICS_UNAUTHORIZED.message);
    }
    const { contentType, body } = await this.metrics.scrape();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  }
}
