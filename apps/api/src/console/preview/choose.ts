import { isGzip, isTar, isZip } from '@menagerie/storage';
import { binaryPreview } from './hex';
import { prettyJson } from './json';
import { PREVIEW_LIMITS, type PreviewLimits } from './limits';
import { readAt, type OpenFile } from './positional-read';
import type { Preview } from './preview.types';
import { listTar } from './tar';
import { decodeText } from './text';
import { listZip } from './zip';

/**
 * Chooses the preview by what the file is: an archive (gzip, tar, zip) is
 * listed, falling back to a hex dump when its listing can't be read; other
 * files are JSON (pretty-printed), text, or binary (a hex dump). Every read
 * is bounded and positioned; the handle stays the caller's to close.
 */
export async function previewFile({ handle, size }: OpenFile, limits: PreviewLimits = PREVIEW_LIMITS): Promise<Preview> {
  const head = await readAt(handle, 0, Math.min(size, 4096));

  if (isGzip(head)) {
    const listed = await listTar(handle, size, true, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'tar.gz', ...listed };
    return binaryPreview(handle, size, limits, 'gzip-compressed data that is not a tar archive');
  }
  if (isTar(head)) {
    const listed = await listTar(handle, size, false, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'tar', ...listed };
    return binaryPreview(handle, size, limits, 'a damaged tar archive');
  }
  if (isZip(head)) {
    const listed = await listZip(handle, size, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'zip', ...listed };
    return binaryPreview(handle, size, limits, 'a zip archive whose directory could not be read');
  }

  const shown = Math.min(size, limits.textBytes);
  const bytes = await readAt(handle, 0, shown);
  const truncated = shown < size;
  const text = decodeText(bytes, truncated);
  if (text === null) return binaryPreview(handle, size, limits, null, bytes);
  if (!truncated && /^\s*[[{]/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined; // not JSON after all: shown as text
    }
    if (parsed !== undefined) return { kind: 'json', size, ...prettyJson(parsed, limits) };
  }
  return { kind: 'text', size, text, truncated };
}
