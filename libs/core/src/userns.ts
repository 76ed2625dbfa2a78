/**
 * How a Docker daemon run with `--userns-remap` maps ids: an id n inside a
 * container is host id `uid + n` (`gid + n` for groups), for n < `size`. The
 * daemon maps nothing else, and ids past the range may belong to another
 * user's range, so an engine's user outside it is refused, never guessed.
 */
export interface UserNamespace {
  /** The host uid of the container's root (the start of the daemon's subordinate uid range). */
  uid: number;
  /** The host gid of the container's root group. */
  gid: number;
  /** How many ids are mapped (the shorter of the uid and gid ranges). */
  size: number;
}

/**
 * The host owner, `uid:gid`, of what an engine running as `user` (engines.json:
 * `uid` or `uid:gid`) must be able to write: the user itself on a daemon that
 * does not remap (`ns` null, or an engine run with `--userns=host`), else its
 * remapped ids. A user given by name is returned as it is (its ids are the
 * image's to say). The one place the rule lives: job directories are given to
 * what this returns.
 */
export function hostUser(user: string, ns: UserNamespace | null): string {
  const [uidPart, gidPart] = user.split(':');
  if (!/^\d+$/.test(uidPart ?? '') || (gidPart !== undefined && !/^\d+$/.test(gidPart))) return user;
  const uid = Number(uidPart);
  const gid = gidPart === undefined ? uid : Number(gidPart);
  if (!ns) return `${uid}:${gid}`;
  for (const [what, id] of [
    ['uid', uid],
    ['gid', gid],
  ] as const) {
    if (id >= ns.size) {
      throw new Error(
        `engine user ${user}: ${what} ${id} is outside the ${ns.size} ids the Docker daemon's user namespace maps (container root is host uid ${ns.uid}, gid ${ns.gid})`,
      );
    }
  }
  return `${ns.uid + uid}:${ns.gid + gid}`;
}

/**
 * The length of the range that starts at `start` in a subordinate id file
 * (/etc/subuid, /etc/subgid: `name:start:count` lines); null when there is none.
 */
export function subordinateRange(file: string, start: number): number | null {
  for (const line of file.split('\n')) {
    const [name, from, count] = line.trim().split(':');
    if (name && Number(from) === start && /^\d+$/.test(count ?? '') && Number(count) > 0) return Number(count);
  }
  return null;
}

/** A remapped daemon keeps its data under `<data-root>/<uid>.<gid>`: the host ids of its containers' root; null for any other path. */
export function remappedRoot(dockerRootDir: string): { uid: number; gid: number } | null {
  const match = /\/(\d+)\.(\d+)\/?$/.exec(dockerRootDir);
  return match ? { uid: Number(match[1]), gid: Number(match[2]) } : null;
}
