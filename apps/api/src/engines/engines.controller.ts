import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { EnginesDto } from '../common/openapi.dto';
import type { MenagerieConfig } from '@menagerie/config';
import type { JobRepository } from '@menagerie/db';
import { envNames } from '@menagerie/engines';
import type { ContainerRuntime } from '@menagerie/runtime';
import { CONFIG, CONTAINER_RUNTIME, JOB_REPOSITORY } from '../common/tokens';

@ApiTags('engines')
@Controller('engines')
export class EnginesController {
  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The configured engines, their images and their queues' })
  @ApiResponse({ status: 200, type: EnginesDto })
  async list(): Promise<EnginesDto> {
    const engines = await Promise.all(
      this.config.engines.map(async ({ config, policy, spec }) => {
        const image = await this.runtime.inspectImage(config.image).then(
          (info) => ({ available: info !== null, digest: info?.digest ?? null, reason: info ? null : `image not found: ${config.image}` }),
          (err: Error) => ({ available: false, digest: null, reason: err.message }),
        );
        const [queued, running] = await Promise.all([
          this.jobs.countByStatus(config.name, ['queued']),
          this.jobs.countByStatus(config.name, ['running']),
        ]);
        return {
          name: config.name,
          image: config.image,
          imageDigest: image.digest,
          available: image.available,
          unavailableReason: image.reason,
          workers: config.workers,
          sizelimit: config.sizelimit,
          timeout: config.timeout,
          inputfilename: config.inputfilename,
          mountpoint: config.mountpoint,
          cmd: config.cmd,
          user: config.user,
          // Environment values are often secrets: only their names leave the process.
          runflags: spec.runflags,
          env: envNames(policy.env),
          jobs: { queued, running },
          uploadUrl: `${this.config.settings.api.publicUrl}/${config.name}/upload`,
        };
      }),
    );
    return { engines };
  }
}
