import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { EnginesDto } from '../common/openapi.dto';
import type { MenagerieConfig } from '@menagerie/config';
import { DataBundleRepository, JobHistoryRepository } from '@menagerie/db';
import { envNames } from '@menagerie/engines';
import { servingOf } from '@menagerie/core';
import { CONFIG } from '../common/tokens';
import { NodesService } from '../nodes/nodes.service';

@ApiTags('engines')
@Controller('engines')
export class EnginesController {
  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly history: JobHistoryRepository,
    private readonly nodes: NodesService,
    private readonly bundles: DataBundleRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The configured engines, the worker nodes that serve each (with its image digest there), and their queues' })
  @ApiResponse({ status: 200, type: EnginesDto })
  async list(): Promise<EnginesDto> {
    // One query for every engine's queue: the console polls this.
    const [nodes, active, digests] = await Promise.all([this.nodes.list(), this.history.countActive(), this.bundles.currentDigests()]);
    const engines = this.config.engines.map(({ config, policy, spec, cacheTtl }) => {
      const serving = servingOf(config.name, nodes, this.nodes.reportSeconds);
      const { queued, running } = active.get(config.name) ?? { queued: 0, running: 0 };
      return {
        name: config.name,
        image: config.image,
        imageDigest: serving.nodes[0]?.digest ?? null,
        available: serving.available,
        unavailableReason: serving.reason,
        nodes: serving.nodes,
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
        cacheTtl,
        accepts: config.accepts ?? null,
        rejects: config.rejects ?? null,
        // Each declared bundle's mount point and current version (null: none pushed yet).
        data: config.data
          ? Object.fromEntries(
              Object.entries(config.data).map(([bundle, target]) => [
                bundle,
                { target, digest: digests.get(config.name)?.[bundle] ?? null },
              ]),
            )
          : null,
        datacheck: Boolean(config.datacheck),
        jobs: { queued, running },
        uploadUrl: `${this.config.settings.api.publicUrl}/${config.name}/upload`,
      };
    });
    return { engines };
  }
}
