import { Controller, Get, Inject, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { MenagerieConfig } from '@menagerie/config';
import { streamTo } from '../common/stream-to';
import { CONFIG } from '../common/tokens';
import { toJobPageView, type JobPageView } from '../jobs/job-page.view';
import { ConsoleJobsService } from './console-jobs.service';
import type { Preview } from './result-preview';

/** What the console needs beyond the public API: search by name, the full log, a preview of the result. */
@ApiExcludeController() // the console's own plumbing, not part of the documented API (/docs)
@Controller('console/api')
export class ConsoleApiController {
  private readonly logger = new Logger(ConsoleApiController.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly jobs: ConsoleJobsService,
  ) {}

  /** `GET /console/api/jobs?q=&engine=&status=&page=|cursor=&limit=`: like GET /jobs, with `q` matching the file name or a sha256 prefix. */
  @Get('jobs')
  async search(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response): Promise<JobPageView> {
    res.setHeader('Cache-Control', 'no-store');
    return toJobPageView(await this.jobs.search(query), '/console/api/jobs', query, this.config.settings);
  }

  /** The engine's full stored log as text; 204 while the job has none yet. */
  @Get('jobs/:id/log')
  async log(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const log = await this.jobs.openLog(id);
    res.setHeader('Cache-Control', 'no-store');
    if (!log) {
      res.status(204).end();
      return;
    }
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', String(log.length));
    res.setHeader('X-Log-Size', String(log.size));
    res.setHeader('X-Log-Truncated', String(log.length < log.size));
    streamTo(res, log.stream, this.logger, { jobId: id }, 'the stored log');
  }

  /** `{kind: 'json'|'text'|'archive'|'binary'|'none', ...}`, from a bounded read of the result. */
  @Get('jobs/:id/preview')
  async preview(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<Preview> {
    res.setHeader('Cache-Control', 'no-store');
    return this.jobs.preview(id);
  }
}
