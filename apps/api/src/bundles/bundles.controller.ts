import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorDto } from '../common/openapi.dto';
import { BundlePushService } from './bundle-push.service';
import { EngineBundlesDto, PushDto } from './bundles.dto';
import type { EngineBundlesView, PushView } from './bundles.view';

const ENGINE = { name: 'engine', description: 'an engine name from GET /engines', example: 'yara' };

@ApiTags('engines')
@Controller('engines')
export class BundlesController {
  constructor(private readonly pushes: BundlePushService) {}

  @Post(':engine/data/:bundle')
  @HttpCode(201)
  @ApiOperation({
    summary: "Push a version of an engine's data bundle (its rules, signatures)",
    description:
      "The body is a tar of the bundle: regular files and directories only. It is checked member by member, kept under its digest, and run through the engine's datacheck on a node that serves it; only a version it accepts becomes current, and the next job gets it. `menagerie data push <engine> <bundle> <dir>`",
  })
  @ApiParam(ENGINE)
  @ApiParam({ name: 'bundle', description: 'a bundle the engine declares (engines.json `data`)', example: 'rules' })
  @ApiConsumes('application/x-tar')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 201, type: PushDto, description: 'the version is current now' })
  @ApiResponse({ status: 200, type: PushDto, description: 'the version was current already: nothing changed' })
  @ApiResponse({
    status: 400,
    type: ErrorDto,
    description:
      'BAD_DATA_BUNDLE: not a tar, or a member that is a link, a device, a FIFO, outside the bundle (../, /); the message names it',
  })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'ENGINE_UNKNOWN; DATA_BUNDLE_UNKNOWN: the engine declares no such bundle' })
  @ApiResponse({ status: 413, type: ErrorDto, description: "UPLOAD_TOO_LARGE: over a bundle's bounds (256 MiB of files, 10,000 files)" })
  @ApiResponse({ status: 415, type: ErrorDto, description: 'NOT_TAR: the body is not sent as application/x-tar' })
  @ApiResponse({
    status: 422,
    type: ErrorDto,
    description:
      "DATA_BUNDLE_REFUSED: the engine's datacheck refused it, with the check's own output; the current version stays, nothing of this one is kept",
  })
  @ApiResponse({
    status: 503,
    type: ErrorDto,
    description:
      'ENGINE_UNAVAILABLE: no live node serves the engine, or its check could not run; SCHEDULER_UNAVAILABLE, DATABASE_UNAVAILABLE, STORAGE_UNAVAILABLE',
  })
  async push(
    @Param('engine') engine: string,
    @Param('bundle') bundle: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PushView> {
    try {
      const pushed = await this.pushes.push(engine, bundle, req);
      res.status(pushed.changed ? 201 : 200);
      return pushed;
    } catch (err) {
      // Refused before its end: the rest is not read, and the connection not kept.
      if (!req.complete) {
        res.setHeader('Connection', 'close');
        req.resume();
      }
      throw err;
    }
  }

  @Get(':engine/data')
  @ApiOperation({ summary: "An engine's data bundles: each one's current version and its history" })
  @ApiParam(ENGINE)
  @ApiResponse({ status: 200, type: EngineBundlesDto })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'ENGINE_UNKNOWN' })
  list(@Param('engine') engine: string): Promise<EngineBundlesView> {
    return this.pushes.list(engine);
  }
}
