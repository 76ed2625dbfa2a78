import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { canonicalSubmissionId } from '@menagerie/core';
import { Public } from '../common/access';
import { ConsoleAssets } from './console-assets.service';

/**
 * The console's pages: static HTML shells whose scripts fetch the data from
 * the API (GET /engines, /nodes, /jobs/<id>, /submission/<id>, /console/api/...).
 * Nothing user-supplied is ever written into a page by the server.
 */
@ApiExcludeController() // the console's own plumbing, not part of the documented API (/docs)
@Public() // pages and assets hold no data: they load without a key, and ask for one
@Controller('console')
export class ConsolePagesController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get(['', 'engines'])
  engines(@Res() res: Response): void {
    this.assets.send(res, 'engines.html');
  }

  @Get('nodes')
  nodes(@Res() res: Response): void {
    this.assets.send(res, 'nodes.html');
  }

  @Get('jobs')
  jobs(@Res() res: Response): void {
    this.assets.send(res, 'jobs.html');
  }

  @Get('jobs/:id')
  job(@Param('id') _id: string, @Res() res: Response): void {
    // The id is only checked (by JobIdPipe): the page's script reads it from the address.
    this.assets.send(res, 'job.html');
  }

  @Get('submissions/:submissionId')
  submission(@Param('submissionId') id: string, @Res() res: Response): void {
    // As for a job, the id is only checked (not `:id`, which JobIdPipe takes for a job's): the page's script reads it from the address.
    canonicalSubmissionId(id);
    this.assets.send(res, 'submission.html');
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
