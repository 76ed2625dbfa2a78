/**
 * What a container may do, independent of any runtime. Containment is the
 * default policy; runflags from engines.json only adjust it, and
 * containment.ts decides which adjustments need the operator's consent.
 */
export interface Ulimit {
  name: string;
  /** -1 is unlimited. */
  soft: number;
  hard: number;
}

export interface ContainerPolicy {
  network: string;
  readOnlyRootfs: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  memoryBytes: number;
  /** Memory plus swap, as Docker counts it; null is "no swap" (equal to memoryBytes), -1 unlimited. */
  memorySwapBytes: number | null;
  nanoCpus: number;
  pidsLimit: number;
  /** Mount path -> tmpfs options (`size=64m,...`). */
  tmpfs: Record<string, string>;
  ulimits: Ulimit[];
  /** NAME=value, or a bare NAME in a workflow input, where values are left out. */
  env: string[];
  /** null and 0 are the runtime's default, 64 MiB. */
  shmSizeBytes: number | null;
  /** `uid[:gid]` or a name; null leaves it to the caller (engines.json's "user"). */
  user: string | null;
  workdir: string | null;
  privileged: boolean;
  binds: string[];
  devices: string[];
  pidMode: string | null;
  ipcMode: string | null;
  usernsMode: string | null;
}

/** What Docker gives /dev/shm when no size is set. */
export const DEFAULT_SHM_BYTES = 64 * 1024 ** 2;

/**
 * Every ulimit name Docker knows. The ones the default policy pins may only be
 * lowered; the others are inherited from the daemon and bounded by the cgroup
 * limits (pids, memory, cpu) and the timeout, so any finite value is accepted.
 */
export const ULIMIT_NAMES = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

export function defaultPolicy(): ContainerPolicy {
  return {
    network: 'none',
    readOnlyRootfs: true,
    capAdd: [],
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges'],
    memoryBytes: 2 * 1024 ** 3,
    memorySwapBytes: null,
    nanoCpus: 1e9,
    pidsLimit: 256,
    tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
    // Pinned because raising them is a privilege, not just more of a resource: locked
    // memory, and scheduling priority over the host's own processes.
    ulimits: [
      { name: 'memlock', soft: 8 * 1024 ** 2, hard: 8 * 1024 ** 2 },
      { name: 'nice', soft: 0, hard: 0 },
      { name: 'rtprio', soft: 0, hard: 0 },
    ],
    env: [],
    shmSizeBytes: null,
    user: null,
    workdir: null,
    privileged: false,
    binds: [],
    devices: [],
    pidMode: null,
    ipcMode: null,
    usernsMode: null,
  };
}
