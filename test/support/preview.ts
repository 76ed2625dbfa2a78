import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { previewFile, PREVIEW_LIMITS, type Preview, type PreviewLimits } from '../../apps/api/src/console/result-preview';
import { removeDir, tempDir } from './temp-dir';

/** previewFile on a file the test wrote, opened and closed as the store does for a stored result. */
export async function previewPath(path: string, limits: PreviewLimits = PREVIEW_LIMITS): Promise<Preview> {
  const handle = await open(path, 'r');
  try {
    return await previewFile({ handle, size: (await handle.stat()).size }, limits);
  } finally {
    await handle.close();
  }
}

/** A scratch directory for a spec's files (a tempDir): `file(content)` writes one and gives its path. `remove()` removes it at once. */
export function scratchFiles(prefix: string): { file(content: Buffer | string): string; remove(): void } {
  const dir = tempDir(prefix);
  let n = 0;
  return {
    file(content) {
      const path = join(dir, `f${n++}`);
      writeFileSync(path, content);
      return path;
    },
    remove: () => removeDir(dir),
  };
}
