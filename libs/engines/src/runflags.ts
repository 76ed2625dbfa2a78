/**
 * docker-run-style flags from engines.json, parsed into a runtime-neutral
 * policy. Containment is the default; flags can only adjust it, and the flags
 * that break containment are refused unless default.json allows them by name.
 */
export interface Ulimit {
  name: string;
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
  memorySwapBytes: number | null;
  nanoCpus: number;
  pidsLimit: number;
  tmpfs: Record<string, string>;
  ulimits: Ulimit[];
  env: string[];
  shmSizeBytes: number | null;
  user: string | null;
  workdir: string | null;
  privileged: boolean;
  binds: string[];
  devices: string[];
  pidMode: string | null;
  ipcMode: string | null;
  usernsMode: string | null;
}

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
    ulimits: [],
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

/** Flags that break containment. Each is refused unless `allowRunflags` in default.json names it. */
export const DANGEROUS_FLAGS = [
  '--privileged',
  '--volume',
  '--mount',
  '--device',
  '--pid=host',
  '--ipc=host',
  '--network=host',
  '--userns=host',
] as const;

export class RunflagError extends Error {}

type Apply = (policy: ContainerPolicy, value: string, flag: string) => void;

interface FlagDef {
  names: string[];
  /** Flags without a value (`--read-only`) may still be written `--read-only=false`. */
  boolean?: boolean;
  apply: Apply;
  /** Returns the DANGEROUS_FLAGS entry this use falls under, if any. */
  danger?: (value: string) => string | null;
}

export function parseBytes(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(value.trim());
  if (!match) throw new RunflagError(`${flag}: "${value}" is not a size such as 512m or 2g`);
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  return Math.floor(Number(match[1]) * unit);
}

function parsePositiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new RunflagError(`${flag}: "${value}" must be a positive number`);
  return n;
}

function parseBoolean(value: string, flag: string): boolean {
  if (value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new RunflagError(`${flag}: "${value}" must be true or false`);
}

function hostMode(mode: string): Apply {
  return (p, v) => {
    if (mode === 'pid') p.pidMode = v;
    if (mode === 'ipc') p.ipcMode = v;
    if (mode === 'userns') p.usernsMode = v;
  };
}

const FLAGS: FlagDef[] = [
  { names: ['--security-opt'], apply: (p, v) => void p.securityOpt.push(v) },
  { names: ['--memory', '-m'], apply: (p, v, f) => void (p.memoryBytes = parseBytes(v, f)) },
  {
    names: ['--memory-swap'],
    apply: (p, v, f) => void (p.memorySwapBytes = v === '-1' ? -1 : parseBytes(v, f)),
  },
  { names: ['--cpus'], apply: (p, v, f) => void (p.nanoCpus = Math.round(parsePositiveNumber(v, f) * 1e9)) },
  {
    names: ['--pids-limit'],
    apply: (p, v, f) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n === 0 || n < -1) throw new RunflagError(`${f}: "${v}" must be a positive integer`);
      p.pidsLimit = n;
    },
  },
  {
    names: ['--network', '--net'],
    apply: (p, v) => void (p.network = v),
    danger: (v) => (v === 'host' ? '--network=host' : null),
  },
  { names: ['--read-only'], boolean: true, apply: (p, v, f) => void (p.readOnlyRootfs = parseBoolean(v, f)) },
  { names: ['--cap-add'], apply: (p, v) => void p.capAdd.push(v.toUpperCase()) },
  { names: ['--cap-drop'], apply: (p, v) => void p.capDrop.push(v.toUpperCase()) },
  {
    names: ['--tmpfs'],
    apply: (p, v, f) => {
      const [path, ...opts] = v.split(':');
      if (!path.startsWith('/')) throw new RunflagError(`${f}: "${v}" must start with an absolute path`);
      p.tmpfs[path] = opts.join(':');
    },
  },
  {
    names: ['--ulimit'],
    apply: (p, v, f) => {
      const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
      if (!match) throw new RunflagError(`${f}: "${v}" must look like nofile=1024:2048`);
      const soft = Number(match[2]);
      p.ulimits.push({ name: match[1], soft, hard: match[3] === undefined ? soft : Number(match[3]) });
    },
  },
  {
    names: ['--env', '-e'],
    apply: (p, v, f) => {
      if (!v.includes('=')) throw new RunflagError(`${f}: "${v}" must be NAME=value`);
      p.env.push(v);
    },
  },
  { names: ['--shm-size'], apply: (p, v, f) => void (p.shmSizeBytes = parseBytes(v, f)) },
  { names: ['--user', '-u'], apply: (p, v) => void (p.user = v) },
  {
    names: ['--workdir', '-w'],
    apply: (p, v, f) => {
      if (!v.startsWith('/')) throw new RunflagError(`${f}: "${v}" must be an absolute path`);
      p.workdir = v;
    },
  },
  { names: ['--privileged'], boolean: true, apply: (p, v, f) => void (p.privileged = parseBoolean(v, f)), danger: (v) => (v === 'false' ? null : '--privileged') },
  { names: ['--volume', '-v'], apply: (p, v) => void p.binds.push(v), danger: () => '--volume' },
  { names: ['--mount'], apply: (p, v) => void p.binds.push(mountToBind(v)), danger: () => '--mount' },
  { names: ['--device'], apply: (p, v) => void p.devices.push(v), danger: () => '--device' },
  { names: ['--pid'], apply: hostMode('pid'), danger: (v) => (v === 'host' ? '--pid=host' : null) },
  { names: ['--ipc'], apply: hostMode('ipc'), danger: (v) => (v === 'host' ? '--ipc=host' : null) },
  { names: ['--userns'], apply: hostMode('userns'), danger: (v) => (v === 'host' ? '--userns=host' : null) },
];

function mountToBind(spec: string): string {
  const fields = Object.fromEntries(
    spec.split(',').map((kv) => {
      const [k, ...rest] = kv.split('=');
      return [k, rest.join('=') || 'true'];
    }),
  );
  const source = fields.source ?? fields.src;
  const target = fields.target ?? fields.destination ?? fields.dst;
  if (!source || !target) throw new RunflagError(`--mount: "${spec}" needs source= and target=`);
  return `${source}:${target}${fields.readonly ? ':ro' : ''}`;
}

const BY_NAME = new Map(FLAGS.flatMap((def) => def.names.map((name) => [name, def] as const)));

/** The flags the parser accepts, for documentation and error messages. */
export const SUPPORTED_FLAGS = FLAGS.map((def) => def.names.join(' / '));

/**
 * Applies `runflags` on top of the containment defaults. Accepts `--flag value`
 * and `--flag=value`. Throws RunflagError naming the offending flag.
 */
export function parseRunflags(runflags: readonly string[], allowed: readonly string[] = []): ContainerPolicy {
  const policy = defaultPolicy();
  for (let i = 0; i < runflags.length; i++) {
    const token = runflags[i];
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    const def = BY_NAME.get(name);
    if (!def) throw new RunflagError(`unknown flag "${token}" (supported: ${SUPPORTED_FLAGS.join(', ')})`);
    let value: string;
    if (eq > 0) value = token.slice(eq + 1);
    else if (def.boolean) value = '';
    else {
      if (i + 1 >= runflags.length) throw new RunflagError(`flag "${name}" needs a value`);
      value = runflags[++i];
    }
    const danger = def.danger?.(value) ?? null;
    if (danger && !allowed.includes(danger)) {
      throw new RunflagError(
        `flag "${name}${value ? ` ${value}` : ''}" breaks containment; add "${danger}" to allowRunflags in default.json to permit it`,
      );
    }
    def.apply(policy, value, name);
  }
  return policy;
}
