import { readdirSync, readlinkSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ResultProblem, ScratchResult } from '@menagerie/storage';

/** Small helpers of the store and scratch specs: bytes as a stream and back, open descriptors. */

export const from = (s: string | Buffer) => Readable.from([Buffer.from(s)]);
export const read = async (stream: Readable) => Buffer.concat(await stream.toArray());

export const opened = (r: ResultProblem | ScratchResult): ScratchResult => {
  if (typeof r === 'string') throw new Error(`expected a result, not ${r}`);
  return r;
};

/** How many of this process's descriptors are open on `path`. */
export const openOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
