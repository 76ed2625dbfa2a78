import { open } from 'node:fs/promises';
import { previewFile, PREVIEW_LIMITS, type Preview, type PreviewLimits } from '../../apps/api/src/console/result-preview';

/** previewFile on a file the test wrote, opened and closed as the store does for a stored result. */
export async function previewPath(path: string, limits: PreviewLimits = PREVIEW_LIMITS): Promise<Preview> {
  const handle = await open(path, 'r');
  try {
    return await previewFile({ handle, size: (await handle.stat()).size }, limits);
  } finally {
    await handle.close();
  }
}
