import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { MenagerieError } from '@menagerie/core';

/**
 * A pass-through that hashes what flows and fails with UPLOAD_TOO_LARGE past
 * `limit` bytes: how every store takes an upload in, whatever keeps the bytes.
 */
export function metered(limit: number): { meter: Transform; result(): { size: number; sha256: string } } {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit) {
        done(new MenagerieError('UPLOAD_TOO_LARGE', `the file is larger than this engine's limit of ${limit} bytes`, { limit }));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { meter, result: () => ({ size, sha256: hash.digest('hex') }) };
}
