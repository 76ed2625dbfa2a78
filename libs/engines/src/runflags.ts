/**
 * docker-run-style flags from engines.json, parsed into a runtime-neutral
 * policy. Containment is the default; flags adjust it, and every adjustment
 * that is weaker than the default (see containment.ts) is refused unless
 * allowRunflags in default.json names it.
 */
import { envName } from '@menagerie/core';
import { compare, type Finding } from './containment';
import { defaultPolicy, ULIMIT_NAMES, type ContainerPolicy } from './policy';

/** One refused or malformed setting, and the engines.json field it was written in. */
export interface RunflagProblem {
  field: 'runflags' | 'user';
  message: string;
}

export class RunflagError extends Error {
  readonly problems: RunflagProblem[];

  constructor(message: string, problems: RunflagProblem[] = [{ field: 'runflags', message }]) {
    super(message);
    this.problems = problems;
  }
}

/** Writes a flag's value into the policy; returns which element it wrote, for a field that holds many. */
type Apply = (policy: ContainerPolicy, value: string, flag: string) => string | void;

interface FlagDef {
  names: string[];
  /** The one policy field the flag writes: findings on it name the flag. */
  field: keyof ContainerPolicy;
  /** Flags without a value (`--read-only`) may still be written `--read-only=false`. */
  boolean?: boolean;
  apply: Apply;
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

/** Docker takes `NET_RAW`, `net_raw` and `CAP_NET_RAW` alike. */
function capability(value: string): string {
  return value.toUpperCase().replace(/^CAP_/, '');
}

const ENV_NAME = /^[^=\s]+$/;

const FLAGS: FlagDef[] = [
  { names: ['--security-opt'], field: 'securityOpt', apply: (p, v) => (p.securityOpt.push(v), v) },
  { names: ['--memory', '-m'], field: 'memoryBytes', apply: (p, v, f) => void (p.memoryBytes = parseBytes(v, f)) },
  {
    names: ['--memory-swap'],
    field: 'memorySwapBytes',
    apply: (p, v, f) => void (p.memorySwapBytes = v === '-1' ? -1 : parseBytes(v, f)),
  },
  { names: ['--cpus'], field: 'nanoCpus', apply: (p, v, f) => void (p.nanoCpus = Math.round(parsePositiveNumber(v, f) * 1e9)) },
  {
    names: ['--pids-limit'],
    field: 'pidsLimit',
    apply: (p, v, f) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n === 0 || n < -1) throw new RunflagError(`${f}: "${v}" must be a positive integer`);
      p.pidsLimit = n;
    },
  },
  { names: ['--network', '--net'], field: 'network', apply: (p, v) => void (p.network = v) },
  { names: ['--read-only'], field: 'readOnlyRootfs', boolean: true, apply: (p, v, f) => void (p.readOnlyRootfs = parseBoolean(v, f)) },
  { names: ['--cap-add'], field: 'capAdd', apply: (p, v) => (p.capAdd.push(capability(v)), capability(v)) },
  { names: ['--cap-drop'], field: 'capDrop', apply: (p, v) => (p.capDrop.push(capability(v)), capability(v)) },
  {
    names: ['--tmpfs'],
    field: 'tmpfs',
    apply: (p, v, f) => {
      const [path, ...opts] = v.split(':');
      if (!path.startsWith('/')) throw new RunflagError(`${f}: "${v}" must start with an absolute path`);
      p.tmpfs[path] = opts.join(':');
      return path;
    },
  },
  {
    names: ['--ulimit'],
    field: 'ulimits',
    apply: (p, v, f) => {
      const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
      if (!match) throw new RunflagError(`${f}: "${v}" must look like nofile=1024:2048`);
      const name = match[1];
      if (!(ULIMIT_NAMES as readonly string[]).includes(name))
        throw new RunflagError(`${f}: "${name}" is not a ulimit (${ULIMIT_NAMES.join(', ')})`);
      const soft = Number(match[2]);
      // A later --ulimit for the same resource replaces the earlier one, or the default.
      p.ulimits = [...p.ulimits.filter((u) => u.name !== name), { name, soft, hard: match[3] === undefined ? soft : Number(match[3]) }];
      return name;
    },
  },
  {
    names: ['--env', '-e'],
    field: 'env',
    apply: (p, v, f) => {
      // A bare NAME is what a workflow input holds: the worker fills the value in.
      if (!ENV_NAME.test(envName(v))) throw new RunflagError(`${f}: "${v}" must be NAME=value`);
      // Docker would take the last and the worker's value lookup the first: one name, one value.
      const twice = p.env.find((e) => envName(e) === envName(v));
      if (twice !== undefined)
        throw new RunflagError(`${f}: environment variable ${envName(v)} is set twice ("${twice}" and "${v}"); set it once`);
      p.env.push(v);
    },
  },
  { names: ['--shm-size'], field: 'shmSizeBytes', apply: (p, v, f) => void (p.shmSizeBytes = parseBytes(v, f)) },
  { names: ['--user', '-u'], field: 'user', apply: (p, v) => void (p.user = v) },
  {
    names: ['--workdir', '-w'],
    field: 'workdir',
    apply: (p, v, f) => {
      if (!v.startsWith('/')) throw new RunflagError(`${f}: "${v}" must be an absolute path`);
      p.workdir = v;
    },
  },
  { names: ['--privileged'], field: 'privileged', boolean: true, apply: (p, v, f) => void (p.privileged = parseBoolean(v, f)) },
  { names: ['--volume', '-v'], field: 'binds', apply: (p, v) => (p.binds.push(v), v) },
  {
    names: ['--mount'],
    field: 'binds',
    apply: (p, v) => {
      const bind = mountToBind(v);
      p.binds.push(bind);
      return bind;
    },
  },
  { names: ['--device'], field: 'devices', apply: (p, v) => (p.devices.push(v), v) },
  { names: ['--pid'], field: 'pidMode', apply: (p, v) => void (p.pidMode = v) },
  { names: ['--ipc'], field: 'ipcMode', apply: (p, v) => void (p.ipcMode = v) },
  { names: ['--userns'], field: 'usernsMode', apply: (p, v) => void (p.usernsMode = v) },
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

interface RunflagToken {
  def: FlagDef;
  /** The flag as written (`-e`, `--env`). */
  name: string;
  value: string;
  /** The tokens it was written as: `["--memory=1g"]` or `["--memory", "1g"]`. */
  written: string[];
}

/** Splits runflags into flags and their values; `--flag value` and `--flag=value` alike. */
function tokenize(runflags: readonly string[]): RunflagToken[] {
  const tokens: RunflagToken[] = [];
  for (let i = 0; i < runflags.length; i++) {
    const token = runflags[i];
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    const def = BY_NAME.get(name);
    if (!def) throw new RunflagError(`unknown flag "${token}" (supported: ${SUPPORTED_FLAGS.join(', ')})`);
    if (eq > 0) tokens.push({ def, name, value: token.slice(eq + 1), written: [token] });
    else if (def.boolean) tokens.push({ def, name, value: '', written: [token] });
    else {
      if (i + 1 >= runflags.length) throw new RunflagError(`flag "${name}" needs a value`);
      const value = runflags[i + 1];
      // A separate value that looks like a flag is taken for one, so that every reader of the
      // list (withoutEnvValues among them) splits it the same way; negative numbers are values.
      if (/^-(?!\d)/.test(value)) {
        throw new RunflagError(`flag "${name}" needs a value, not the flag "${value}"; write ${name}=${value} if that is the value`);
      }
      tokens.push({ def, name, value, written: [token, runflags[++i]] });
    }
  }
  return tokens;
}

/** Who set a part of the policy, for naming it in a refusal. */
interface Source {
  /** Canonical flag name, as allowRunflags names it. */
  flag: string;
  value: string;
  label: string;
  field: RunflagProblem['field'];
}

function canonicalAllowName(entry: string): string {
  const eq = entry.indexOf('=');
  const name = eq > 0 ? entry.slice(0, eq) : entry;
  const def = BY_NAME.get(name);
  if (!def) return entry;
  const flag = def.names[0];
  if (eq < 0) return flag;
  const value = entry.slice(eq + 1);
  return `${flag}=${def.field === 'capAdd' ? capability(value) : value}`;
}

export interface ParseOptions {
  /** engines.json's "user": checked like `--user`, and overridden by it. */
  user?: string;
}

/**
 * Applies `runflags` on top of the containment defaults, then compares the
 * result with the defaults: whatever adds privilege, lowers isolation or
 * removes or raises a limit is refused unless `allowed` names it, either as
 * the flag (`--cap-add`, any value) or as the flag and value (`--cap-add=NET_RAW`).
 * Throws RunflagError naming each offending flag.
 */
export function parseRunflags(runflags: readonly string[], allowed: readonly string[] = [], options: ParseOptions = {}): ContainerPolicy {
  const policy = defaultPolicy();
  const sources = new Map<string, Source>();
  const at = (field: keyof ContainerPolicy, key?: string) => `${field}\0${key ?? ''}`;
  if (options.user !== undefined) {
    policy.user = options.user;
    sources.set(at('user'), {
      flag: '--user',
      value: options.user,
      label: `"user": ${JSON.stringify(options.user)} in engines.json`,
      field: 'user',
    });
  }
  for (const token of tokenize(runflags)) {
    const key = token.def.apply(policy, token.value, token.name);
    const source = { flag: token.def.names[0], value: token.value, label: `flag "${token.written.join(' ')}"`, field: 'runflags' as const };
    sources.set(at(token.def.field, key ?? undefined), source);
    if (key) sources.set(at(token.def.field), source);
  }

  const permitted = new Set(allowed.map(canonicalAllowName));
  const problems = compare(policy, defaultPolicy()).flatMap((finding: Finding) => {
    const source = sources.get(at(finding.field, finding.key)) ??
      sources.get(at(finding.field)) ?? {
        flag: finding.field,
        value: '',
        label: `policy field ${finding.field}`,
        field: 'runflags' as const,
      };
    const value = source.flag === '--cap-add' && finding.key ? finding.key : source.value;
    if (permitted.has(source.flag) || permitted.has(`${source.flag}=${value}`)) return [];
    const name = value ? `${source.flag}=${value}` : source.flag;
    const message =
      `${source.label} breaks containment: it ${finding.effect} (${finding.detail}); ` +
      `add "${name}" (or "${source.flag}" for any value) to allowRunflags in default.json to permit it`;
    return [{ field: source.field, message }];
  });
  if (problems.length) throw new RunflagError(problems.map((p) => p.message).join('; '), problems);
  return policy;
}

/** They live in core, where workflow code can apply them too. */
export { envName, withoutEnvValues } from '@menagerie/core';
