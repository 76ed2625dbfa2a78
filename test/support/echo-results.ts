import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarOf } from './archive';
import { FIXTURES } from './env';
import { body, uploadBytes, uploadFile, waitForJob } from './http';

/**
 * A result of each kind the console previews, for an engine that hands its
 * input back as its result (`echo`, test/support/console-engines.ts), with
 * what GET /console/api/jobs/<id>/preview must answer for it.
 */
export interface EchoResult {
  /** The upload's file name. */
  name: string;
  /** The bytes uploaded, and so the result. */
  bytes: Buffer | string;
  /** Uploads it to `engine` at `baseUrl`. */
  upload(baseUrl: string, engine: string): Promise<Response>;
  /** Checks the preview the console's API gave of the result. */
  expectPreview(preview: Record<string, any>): void;
}

function result(name: string, bytes: Buffer | string, expectPreview: EchoResult['expectPreview']): EchoResult {
  return { name, bytes, upload: (baseUrl, engine) => uploadBytes(baseUrl, engine, bytes, name), expectPreview };
}

/** Text (with markup), binary, a tar, a zip (the sample APK), gzip that is not a tar, and broken JSON, in that order. */
export async function echoResults(): Promise<EchoResult[]> {
  const text = 'plain text result\nline two: <b>not bold</b>\n';
  const binary = Buffer.concat([Buffer.from([0x4d, 0x5a, 0x90, 0x00]), randomBytes(2000)]);
  const tar = await tarOf({ 'docs/readme.txt': 'hello', 'docs/data.bin': 'x'.repeat(1234) });
  const apk = join(FIXTURES, 'sample.apk');
  return [
    result('note.txt', text, (p) => expect(p).toEqual({ kind: 'text', size: Buffer.byteLength(text), text, truncated: false })),
    result('blob.bin', binary, (p) => {
      expect(p).toMatchObject({ kind: 'binary', size: binary.length, bytes: 512 });
      expect(p.hex.split('\n')).toHaveLength(32);
      expect(p.hex.split('\n')[0]).toMatch(/^00000000 {2}4d 5a 90 00 /);
      expect(p.hex.split('\n')[0]).toMatch(/\|MZ\.\..{12}\|$/);
    }),
    result('bundle.tar', tar, (p) =>
      expect(p).toMatchObject({
        kind: 'archive',
        format: 'tar',
        truncated: false,
        entries: [
          { name: 'docs/', type: 'directory', size: null },
          { name: 'docs/readme.txt', type: 'file', size: 5 },
          { name: 'docs/data.bin', type: 'file', size: 1234 },
        ],
      }),
    ),
    {
      ...result('zipped.apk', readFileSync(apk), (p) => {
        expect(p).toMatchObject({ kind: 'archive', format: 'zip', truncated: false });
        expect(p.entries.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['AndroidManifest.xml', 'classes.dex']));
      }),
      // Streamed from the fixture file.
      upload: (baseUrl, engine) => uploadFile(baseUrl, engine, apk, 'zipped.apk'),
    },
    result('plain.gz', gzipSync('not a tar, just gzip\n'), (p) =>
      expect(p).toMatchObject({ kind: 'binary', note: 'gzip-compressed data that is not a tar archive' }),
    ),
    result('broken.json', '{"broken": json', (p) => expect(p).toMatchObject({ kind: 'text', text: '{"broken": json' })),
  ];
}

/** What GET /console/api/jobs/<id>/preview answers for job `id` at `baseUrl`, once it has completed (checked). */
export async function completedPreview(baseUrl: string, id: string): Promise<Record<string, any>> {
  const job = await waitForJob(baseUrl, id, 60_000);
  expect([id, job.status]).toEqual([id, 'completed']);
  return body(await fetch(`${baseUrl}/console/api/jobs/${id}/preview`));
}
