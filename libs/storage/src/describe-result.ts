import type { StoredResult } from '@menagerie/core';
import { safeStem, sniff } from './sniff';

/** How many first bytes of a result describeResult looks at. */
export const RESULT_HEAD_BYTES = 4096;

/** Names a result after its input and engine, with the extension and type its first bytes (`head`) show. */
export function describeResult(head: Buffer, size: number, originalName: string, engine: string): StoredResult {
  const kind = sniff(head.subarray(0, RESULT_HEAD_BYTES));
  return { name: `${safeStem(originalName)}.${engine}${kind.extension}`, size, mime: kind.mime };
}

/**
 * A result served again (a cache hit) to an upload named `originalName`:
 * named after that upload, with the extension the original result has.
 */
export function resultNameFor(original: { resultName: string | null; originalName: string }, originalName: string, engine: string): string {
  const name = original.resultName ?? '';
  const stem = `${safeStem(original.originalName)}.${engine}`;
  const extension = name.startsWith(stem) ? name.slice(stem.length) : '';
  return `${safeStem(originalName)}.${engine}${extension}`;
}
