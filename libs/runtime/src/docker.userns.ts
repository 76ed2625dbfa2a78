import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { remappedRoot, subordinateRange, type UserNamespace } from '@menagerie/core';
import { RuntimeError } from './container.runtime';
import { reason } from './docker.errors';

/**
 * Whether the daemon remaps user namespaces and, if so, to which host ids
 * and how many (from docker info, /etc/subuid and /etc/subgid, or the
 * configured `usernsRemap`, which must agree with the daemon).
 */
export async function askUserNamespace(
  docker: Docker,
  configured: UserNamespace | null,
  subordinateIds: { uid: string; gid: string },
): Promise<UserNamespace | null> {
  let info: { SecurityOptions?: string[]; DockerRootDir?: string };
  try {
    info = await docker.info();
  } catch (err) {
    throw new RuntimeError('info', reason(err), err);
  }
  const remapped = (info.SecurityOptions ?? []).some((o) => o.split(',').includes('name=userns'));
  if (!remapped) {
    if (configured)
      throw new RuntimeError(
        'info',
        'docker.usernsRemap is set, but the Docker daemon does not remap user namespaces (no name=userns in docker info); remove the setting or start dockerd with --userns-remap',
      );
    return null;
  }
  const root = remappedRoot(info.DockerRootDir ?? '');
  if (!root)
    throw new RuntimeError(
      'info',
      `the Docker daemon remaps user namespaces, but its root directory ${JSON.stringify(info.DockerRootDir)} does not end in <uid>.<gid>`,
    );
  if (configured) {
    if (configured.uid !== root.uid || configured.gid !== root.gid) {
      throw new RuntimeError(
        'info',
        `docker.usernsRemap says container root is host ${configured.uid}:${configured.gid}, but the Docker daemon maps it to ${root.uid}:${root.gid} (${info.DockerRootDir})`,
      );
    }
    return configured;
  }
  const sizes = await Promise.all(
    (['uid', 'gid'] as const).map(async (what) => {
      const file = subordinateIds[what];
      const text = await readFile(file, 'utf8').catch(() => '');
      const size = subordinateRange(text, root[what]);
      if (size === null) {
        throw new RuntimeError(
          'info',
          `the Docker daemon maps container root to host ${what} ${root[what]}, but ${file} has no range that starts there; set docker.usernsRemap { uid, gid, size }`,
        );
      }
      return size;
    }),
  );
  return { ...root, size: Math.min(...sizes) };
}
