import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { isLive } from '@menagerie/core';
import { NodesDto } from '../common/openapi.dto';
import { NodesService } from './nodes.service';

@ApiTags('nodes')
@Controller('nodes')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get()
  @ApiOperation({ summary: 'The worker nodes, as each last reported itself: its engines and their image digests, its running jobs' })
  @ApiResponse({ status: 200, type: NodesDto })
  async list(): Promise<NodesDto> {
    const nodes = await this.nodes.list();
    return {
      nodes: nodes.map((n) => ({
        name: n.name,
        live: isLive(n, this.nodes.reportSeconds),
        lastSeenAt: n.lastSeenAt.toISOString(),
        startedAt: n.startedAt.toISOString(),
        engines: n.engines,
        running: n.running,
      })),
    };
  }
}
