import { DeleteObjectsCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MenagerieConfig } from '@menagerie/config';
import { Scratch } from '@menagerie/storage';

/** A stored file of a job, named as the store's layout names it. */
export type StoredName = 'input' | 'result' | 'engine.log';

/**
 * What a test system's store holds, whichever store it is, for the tests'
 * "nothing left behind" checks: the job ids with anything stored, and per
 * id what is there (unfinished S3 multipart uploads count, as `<name> (unfinished)`).
 */
export interface StoredView {
  ids(): Promise<string[]>;
  names(id: string): Promise<string[]>;
  read(id: string, name: StoredName): Promise<Buffer | null>;
  clear(): Promise<void>;
}

export function storedOf(config: MenagerieConfig): StoredView {
  return config.settings.storage.kind === 's3' ? s3View(config) : fsView(join(config.storageDir, 'store'));
}

function fsView(root: string): StoredView {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  return {
    ids: async () => list(root),
    names: async (id) => list(join(root, id)),
    read: async (id, name) => (existsSync(join(root, id, name)) ? readFileSync(join(root, id, name)) : null),
    clear: async () => list(root).forEach((entry) => rmSync(join(root, entry), { recursive: true, force: true })),
  };
}

function s3View(config: MenagerieConfig): StoredView {
  const s3 = config.settings.storage.s3;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const Bucket = s3.bucket;
  async function entries(): Promise<Array<[string, string]>> {
    const found: Array<[string, string]> = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'jobs/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) found.push(split(o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'jobs/' }));
    for (const u of uploads.Uploads ?? []) {
      const [id, name] = split(u.Key!);
      found.push([id, `${name} (unfinished)`]);
    }
    return found;
  }
  return {
    ids: async () => [...new Set((await entries()).map(([id]) => id))].sort(),
    names: async (id) =>
      (await entries())
        .filter(([i]) => i === id)
        .map(([, name]) => name)
        .sort(),
    async read(id, name) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket, Key: `jobs/${id}/${name}` }));
        return Buffer.from(await answer.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    async clear() {
      const keys = (await entries())
        .filter(([, name]) => !name.endsWith('(unfinished)'))
        .map(([id, name]) => ({ Key: `jobs/${id}/${name}` }));
      if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }));
    },
  };
}

function split(key: string): [string, string] {
  const [, id, name] = key.split('/');
  return [id, name];
}

/** The host path of a job's scratch directory on the node `config` describes (as its worker's Scratch lays it out). */
export function jobDirOf(config: MenagerieConfig, jobId: string): string {
  return new Scratch(config.node.scratchDir, { node: config.node.name, filesystem: 'plain', limitBytes: 0 }).dir(jobId);
}
