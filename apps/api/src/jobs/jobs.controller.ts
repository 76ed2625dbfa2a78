import { Controller, Delete, Get, HttpCode, Inject, Logger, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isFinalStatus } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { CONFIG } from '../common/tokens';
import { JobService, type ListQuery } from './job.service';
import { toJobView, type JobView } from './job.view';
import { UploadService } from './upload.service';

/** RFC 6266: an ASCII fallback plus the exact name in UTF-8. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

@Controller()
export class JobsController {
  private readonly logger = new Logger(JobsController.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly uploads: UploadService,
    private readonly jobs: JobService,
  ) {}

  /** The original curl interface: `curl -XPOST /<engine>/upload -F "upload=@file"`. */
  @Post(':engine/upload')
  @HttpCode(201)
  async upload(@Param('engine') engine: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<JobView> {
    const job = await this.uploads.upload(engine, req);
    res.setHeader('Location', `/result/${job.id}`);
    return toJobView(job, this.config.settings);
  }

  @Get('result/:id')
  async result(@Param('id') id: string): Promise<JobView> {
    return toJobView(await this.jobs.get(id), this.config.settings);
  }

  @Get('link/:id')
  async link(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const file = await this.jobs.result(id);
    res.setHeader('Content-Type', file.mime);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Content-Disposition', contentDisposition(file.name));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    file.stream.on('error', (err) => {
      this.logger.error({ err, jobId: id }, 'could not read the stored result');
      res.destroy();
    });
    file.stream.pipe(res);
  }

  @Get('jobs')
  async list(@Query() query: ListQuery) {
    const page = await this.jobs.list(query);
    return { ...page, items: page.items.map((j) => toJobView(j, this.config.settings)) };
  }

  @Get('jobs/:id')
  async get(@Param('id') id: string): Promise<JobView> {
    return toJobView(await this.jobs.get(id), this.config.settings);
  }

  @Delete('jobs/:id')
  async cancel(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<JobView> {
    const job = await this.jobs.cancel(id);
    res.status(isFinalStatus(job.status) ? 200 : 202);
    return toJobView(job, this.config.settings);
  }
}
