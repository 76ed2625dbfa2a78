import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { isJobId, MenagerieError } from '@menagerie/core';
import { ConsoleAssets } from './console-assets.service';

/**
 * The console's pages: static HTML shells whose scripts fetch the data from
 * the API (GET /engines, /jobs/<id>, /console/api/...). Nothing user-supplied
 * is ever written into a page by the server.
 */
@ApiExcludeController() // the console's own plumbing, not part of the documented API (/docs)
@Controller('console')
export class ConsolePagesController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  engines(@Res() res: Response): void {
    this.assets.send(res, 'engines.html');
  }

  @Get('engines')
  enginesAlias(@Res() res: Response): void {
    this.assets.send(res, 'engines.html');
  }

  @Get('jobs')
  jobs(@Res() res: Response): void {
    this.assets.send(res, 'jobs.html');
  }

  @Get('jobs/:id')
  job(@Param('id') id: string, @Res() res: Response): void {
    if (!isJobId(id)) throw new MenagerieError('INVALID_JOB_ID', 'a job id is a UUID such as 3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
    this.assets.send(res, 'job.html');
  }

  @Get('upload')
  upload(@Res() res: Response): void {
    this.assets.send(res, 'upload.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    this.assets.send(res, `assets/${name}`);
  }
}
