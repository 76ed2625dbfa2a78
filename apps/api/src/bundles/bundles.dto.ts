import { ApiProperty } from '@nestjs/swagger';

/** Shapes of the data bundle routes for the OpenAPI document; bundles.view.ts builds them. */

const DIGEST = { pattern: '^sha256:[0-9a-f]{64}$', example: `sha256:${'5f3c'.repeat(16)}` };

export class BundleVersionDto {
  @ApiProperty({ ...DIGEST, description: 'sha256 over the manifest of its files (path and content hash), however it was packed' })
  digest!: string;
  @ApiProperty({ description: "its files' bytes together" }) size!: number;
  @ApiProperty() files!: number;
  @ApiProperty({ format: 'date-time' }) pushedAt!: string;
  @ApiProperty({ nullable: true, type: String, description: "the end of what the engine's datacheck printed; null without one" })
  checkLog!: string | null;
  @ApiProperty({ description: 'the version jobs are given now' }) current!: boolean;
}

export class PushDto extends BundleVersionDto {
  @ApiProperty({ example: 'yara' }) engine!: string;
  @ApiProperty({ example: 'rules' }) bundle!: string;
  @ApiProperty({ description: 'false: this version was current already, and nothing changed (answered 200)' }) changed!: boolean;
}

class EngineBundleDto {
  @ApiProperty({ example: 'rules' }) bundle!: string;
  @ApiProperty({ example: '/rules', description: 'where jobs see it, read-only' }) target!: string;
  @ApiProperty({ nullable: true, type: BundleVersionDto, description: 'null: none pushed yet (jobs get an empty directory)' })
  current!: BundleVersionDto | null;
  @ApiProperty({ type: [BundleVersionDto], description: 'every version that passed its check, newest first (at most 50)' })
  history!: BundleVersionDto[];
}

export class EngineBundlesDto {
  @ApiProperty() engine!: string;
  @ApiProperty({ description: 'the engine checks a pushed bundle (engines.json `datacheck`)' }) datacheck!: boolean;
  @ApiProperty({ type: [EngineBundleDto] }) bundles!: EngineBundleDto[];
}

export class EngineDataDto {
  @ApiProperty({ example: '/rules' }) target!: string;
  @ApiProperty({ nullable: true, type: String, ...DIGEST, description: 'the current version; null: none pushed yet' }) digest!:
    string | null;
}
