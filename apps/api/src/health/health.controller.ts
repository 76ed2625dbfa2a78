import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/access';
import { HealthDto } from '../common/openapi.dto';
import { within } from '@menagerie/core';
import type { JobRepository } from '@menagerie/db';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, JOB_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';

interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function check(fn: () => Promise<unknown>, timeoutMs = 3000): Promise<Check> {
  const started = Date.now();
  try {
    await within(Promise.resolve().then(fn), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: (err as Error).message };
  }
}

@ApiTags('health')
@Public() // for load balancers and probes; says only whether the services answer
@Controller('health')
export class HealthController {
  constructor(
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly temporal: TemporalService,
  ) {}

  /**
   * 200 when the database, Temporal and the store all answer; 503 naming
   * what doesn't. (Docker is the worker nodes' business: GET /engines says
   * which nodes can run what.)
   */
  @Get()
  @ApiOperation({ summary: 'Checks the database, Temporal and the store' })
  @ApiResponse({ status: 200, type: HealthDto, description: 'all answer' })
  @ApiResponse({ status: 503, type: HealthDto, description: 'something does not; its check says why' })
  async health(@Res({ passthrough: true }) res: Response) {
    const [database, temporal, storage] = await Promise.all([
      check(() => this.jobs.ping()),
      check(() => this.temporal.ping()),
      check(() => this.blobs.check()),
    ]);
    const ok = database.ok && temporal.ok && storage.ok;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', checks: { database, temporal, storage } };
  }
}
