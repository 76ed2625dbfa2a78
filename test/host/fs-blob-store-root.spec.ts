import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore } from '@menagerie/storage';
import { from } from '../support/streams';
import { tempDir } from '../support/temp-dir';

// What needs root: giving files away, mounting a small tmpfs. The rest of FsBlobStore: test/unit/fs-blob-store.spec.ts.

const rootIt = process.getuid?.() === 0 ? it : it.skip;

async function newStore(): Promise<FsBlobStore> {
  const store = new FsBlobStore(tempDir('menagerie-blobs-'));
  await store.init();
  return store;
}

describe('FsBlobStore', () => {
  rootIt("gives what it writes the owner of the job's directory (a root worker must not leave files the API cannot serve)", async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.put(id, 'input', from('x'), 10);
    chownSync(join(store.root, 'store', id), 1234, 1234);
    await store.put(id, 'result', from('r'), 10);
    const info = statSync(join(store.root, 'store', id, 'result'));
    expect([info.uid, info.gid]).toEqual([1234, 1234]);
  });

  rootIt('answers STORAGE_FULL when the disk is full, and leaves nothing', async () => {
    const store = new FsBlobStore(tempDir('menagerie-blobs-'));
    const area = join(store.root, 'store');
    mkdirSync(area);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', area]);
    try {
      const id = randomUUID();
      await expect(store.put(id, 'input', from(Buffer.alloc(1024 * 1024)), 2 * 1024 * 1024)).rejects.toMatchObject({
        code: 'STORAGE_FULL',
      });
      expect(readdirSync(area)).toEqual([]);
    } finally {
      execFileSync('umount', [area]);
    }
  });
});
