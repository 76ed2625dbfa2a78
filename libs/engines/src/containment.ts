import { DEFAULT_SHM_BYTES, type ContainerPolicy } from './policy';

/**
 * How a policy is weaker than the default. Tightening (lower limits, fewer
 * capabilities, no network) is never a finding; anything else is one, and is
 * refused unless the operator names it in allowRunflags.
 */
export type Effect = 'adds privilege' | 'lowers isolation' | 'removes a limit' | 'raises a limit';

export interface Finding {
  field: keyof ContainerPolicy;
  /** For fields that hold many things (capabilities, mounts, ulimits): which one. */
  key?: string;
  effect: Effect;
  detail: string;
}

type Found = Omit<Finding, 'field'>;
type Rule<K extends keyof ContainerPolicy> = (
  value: ContainerPolicy[K],
  base: ContainerPolicy[K],
  policy: ContainerPolicy,
  basePolicy: ContainerPolicy,
) => Found[];

const UNLIMITED = Number.POSITIVE_INFINITY;

function size(bytes: number): string {
  return bytes === UNLIMITED ? 'unlimited' : `${bytes} bytes`;
}

/** A limit where `0` (or below) means none: Docker's convention for memory, cpus, pids. */
function limit(what: string, zeroIsUnlimited = true): Rule<'memoryBytes' | 'nanoCpus' | 'pidsLimit'> {
  return (value, base) => {
    if (zeroIsUnlimited && value <= 0) return [{ effect: 'removes a limit', detail: `${what} unlimited (${value})` }];
    if (value > base) return [{ effect: 'raises a limit', detail: `${what} ${value} above the default ${base}` }];
    return [];
  };
}

/** The swap a container may use on top of its memory, as Docker computes it. */
function swapAllowance(p: ContainerPolicy): number {
  const total = p.memorySwapBytes;
  if (total === null) return 0;
  if (total === -1) return UNLIMITED;
  // 0 is "unset" to Docker, which then allows as much swap as memory.
  if (total === 0) return p.memoryBytes;
  return Math.max(0, total - p.memoryBytes);
}

function isPrivate(mode: string | null): boolean {
  return mode === null || mode === '' || mode === 'private';
}

function namespace(what: string, tighter: string[] = []): Rule<'pidMode' | 'ipcMode' | 'usernsMode'> {
  return (value, base) =>
    isPrivate(value) || value === base || tighter.includes(value ?? '')
      ? []
      : [{ effect: 'lowers isolation', detail: `${what} namespace "${value}" instead of a private one` }];
}

function added(what: string, effect: Effect): Rule<'capAdd' | 'binds' | 'devices'> {
  return (value, base) => value.filter((v) => !base.includes(v)).map((v) => ({ key: v, effect, detail: `${what} ${v}` }));
}

/** `key=value` or the legacy `key:value`. */
export function splitSecurityOpt(opt: string): [string, string] {
  const at = opt.search(/[=:]/);
  return at < 0 ? [opt, ''] : [opt.slice(0, at), opt.slice(at + 1)];
}

/**
 * The bound a tmpfs mount gets, as the kernel reads its options: the last of
 * `size=` and `nr_blocks=` (pages) wins, and 0 means no bound at all.
 */
function tmpfsSize(options: string): number | null {
  const opt = options
    .split(',')
    .filter((o) => o.startsWith('size=') || o.startsWith('nr_blocks='))
    .pop();
  if (!opt) return null;
  const [key, value] = opt.split('=');
  const match = key === 'size' ? /^(\d+)([kmgt]?)$/i.exec(value) : /^(\d+)()$/.exec(value);
  // A percentage of RAM, or anything unreadable, can't be shown to be a bound.
  if (!match) return UNLIMITED;
  const bytes =
    Number(match[1]) *
    (key === 'nr_blocks'
      ? 4096
      : { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't']);
  return bytes === 0 ? UNLIMITED : bytes;
}

function ulimitValue(n: number): number {
  return n < 0 ? UNLIMITED : n;
}

/**
 * One rule per field of ContainerPolicy. The mapped type makes a new field a
 * compile error until it has a rule, so no flag can reach the policy unchecked.
 */
const RULES: { [K in keyof ContainerPolicy]-?: Rule<K> } = {
  network: (value, base) =>
    value === 'none' || value === base ? [] : [{ effect: 'lowers isolation', detail: `network "${value}" instead of none` }],
  readOnlyRootfs: (value, base) =>
    !value && base
      ? [{ effect: 'removes a limit', detail: "a writable container layer, on the host's disk outside the job directory limit" }]
      : [],
  capAdd: added('capability', 'adds privilege'),
  capDrop: (value, base) =>
    base.filter((c) => !value.includes(c)).map((c) => ({ key: c, effect: 'adds privilege', detail: `capabilities not dropped: ${c}` })),
  securityOpt: (value, base) =>
    value
      .filter((opt) => !base.includes(opt))
      .flatMap((opt): Found[] => {
        const [key, val] = splitSecurityOpt(opt);
        if (key === 'no-new-privileges' && (val === '' || val === 'true')) return [];
        if (key === 'no-new-privileges')
          return [{ key: opt, effect: 'adds privilege', detail: 'setuid binaries regain privileges (no-new-privileges off)' }];
        const what = {
          seccomp: 'the seccomp filter',
          apparmor: 'the AppArmor profile',
          label: 'the SELinux label',
          systempaths: 'the masks on /proc and /sys',
        }[key];
        return [
          {
            key: opt,
            effect: 'lowers isolation',
            detail: what ? `${what} replaced by "${val}"` : `security option "${opt}" can't be shown to tighten`,
          },
        ];
      }),
  memoryBytes: limit('memory'),
  memorySwapBytes: (_value, _base, policy, basePolicy) => {
    const allowance = swapAllowance(policy);
    const baseAllowance = swapAllowance(basePolicy);
    if (allowance === UNLIMITED) return [{ effect: 'removes a limit', detail: 'swap unlimited' }];
    return allowance > baseAllowance
      ? [{ effect: 'raises a limit', detail: `swap ${size(allowance)} on top of memory, above the default ${baseAllowance}` }]
      : [];
  },
  nanoCpus: limit('cpu (nanocpus)'),
  pidsLimit: limit('pids'),
  tmpfs: (value, base) => {
    const ceiling = Math.max(0, ...Object.values(base).map((o) => tmpfsSize(o) ?? 0));
    return Object.entries(value).flatMap(([path, options]): Found[] => {
      if (base[path] === options) return [];
      const found: Found[] = [];
      const bytes = tmpfsSize(options);
      const own = base[path] === undefined ? ceiling : (tmpfsSize(base[path]) ?? ceiling);
      if (bytes === null)
        found.push({ key: path, effect: 'removes a limit', detail: `tmpfs ${path} without size= (half of the host's RAM)` });
      else if (bytes > own) found.push({ key: path, effect: 'raises a limit', detail: `tmpfs ${path} of ${size(bytes)}, above ${own}` });
      const loose = options.split(',').filter((o) => o === 'suid' || o === 'dev');
      if (loose.length) found.push({ key: path, effect: 'lowers isolation', detail: `tmpfs ${path} with ${loose.join(',')}` });
      return found;
    });
  },
  ulimits: (value, base) =>
    value.flatMap((u): Found[] => {
      const pinned = base.find((b) => b.name === u.name);
      if (u.soft < 0 || u.hard < 0) return [{ key: u.name, effect: 'removes a limit', detail: `ulimit ${u.name} unlimited` }];
      if (pinned && (ulimitValue(u.soft) > ulimitValue(pinned.soft) || ulimitValue(u.hard) > ulimitValue(pinned.hard))) {
        return [
          {
            key: u.name,
            effect: 'raises a limit',
            detail: `ulimit ${u.name}=${u.soft}:${u.hard} above the default ${pinned.soft}:${pinned.hard}`,
          },
        ];
      }
      return [];
    }),
  env: () => [],
  shmSizeBytes: (value, base) => {
    const bytes = value || DEFAULT_SHM_BYTES;
    const ceiling = base || DEFAULT_SHM_BYTES;
    return bytes > ceiling ? [{ effect: 'raises a limit', detail: `/dev/shm of ${bytes} bytes, above ${ceiling}` }] : [];
  },
  user: (value) => {
    if (value === null) return [];
    return isRootUser(value) ? [{ effect: 'adds privilege', detail: `user "${value}" is root (uid or gid 0)` }] : [];
  },
  workdir: () => [],
  privileged: (value, base) => (value && !base ? [{ effect: 'adds privilege', detail: 'every capability and device of the host' }] : []),
  binds: added('host path mounted:', 'lowers isolation'),
  devices: added('host device', 'adds privilege'),
  pidMode: namespace('pid'),
  ipcMode: namespace('ipc', ['none']),
  usernsMode: namespace('user'),
};

/**
 * Root by uid 0, gid 0, or the name root in either place. An empty user is the
 * image's own, which may be root. Other names are resolved in the image's
 * /etc/passwd, which the operator chose along with the image.
 */
export function isRootUser(user: string): boolean {
  const [uid, gid] = user.trim().split(':');
  // Docker reads ids as Go's Atoi does: "+0" and "-0" are 0 too. A signed id is refused whatever its value.
  const root = (part: string | undefined) =>
    part !== undefined && (part === 'root' || (/^[+-]?\d+$/.test(part) && (Number(part) === 0 || !/^\d+$/.test(part))));
  return uid === '' || root(uid) || root(gid);
}

/** Everything in `policy` that is weaker than `base`: an empty list means it only tightens. */
export function compare(policy: ContainerPolicy, base: ContainerPolicy): Finding[] {
  return (Object.keys(RULES) as (keyof ContainerPolicy)[]).flatMap((field) => {
    const rule = RULES[field] as Rule<typeof field>;
    return rule(policy[field], base[field], policy, base).map((f) => ({ field, ...f }));
  });
}
