import { compare, defaultPolicy, parseRunflags } from '@menagerie/engines';
import { refusal } from '../support/runflags';

/** [flag as written, value]: each is weaker than the default policy in some way. */
const REFUSED: [string, string][] = [
  ['--cap-add', 'ALL'],
  ['--cap-add', 'SYS_ADMIN'],
  ['--cap-add', 'net_raw'],
  ['--cap-add', 'CAP_CHOWN'],
  ['--user', '0'],
  ['--user', '00'],
  ['--user', 'root'],
  ['--user', '0:0'],
  ['--user', '1000:0'],
  ['--user', '1000:root'],
  // Go's Atoi, which Docker uses, reads a signed zero as 0.
  ['--user', '+0'],
  ['--user', '-0'],
  ['--user', '+00'],
  ['--user', '1000:+0'],
  ['--user', '-1000'],
  ['--user', ''],
  ['-u', '0'],
  ['--security-opt', 'seccomp=unconfined'],
  ['--security-opt', 'seccomp:unconfined'],
  ['--security-opt', 'seccomp=/etc/loose.json'],
  ['--security-opt', 'apparmor=unconfined'],
  ['--security-opt', 'label=disable'],
  ['--security-opt', 'label=type:spc_t'],
  ['--security-opt', 'no-new-privileges=false'],
  ['--security-opt', 'no-new-privileges:false'],
  ['--security-opt', 'systempaths=unconfined'],
  ['--security-opt', 'something-new'],
  ['--network', 'host'],
  ['--network', 'bridge'],
  ['--network', 'container:0123abcd'],
  ['--network', 'menagerie_default'],
  ['--net', 'host'],
  ['--pid', 'host'],
  ['--pid', 'container:0123abcd'],
  ['--ipc', 'host'],
  ['--ipc', 'container:0123abcd'],
  ['--ipc', 'shareable'],
  ['--userns', 'host'],
  ['--pids-limit', '-1'],
  ['--pids-limit', '100000'],
  ['--memory', '0'],
  ['--memory', '0.4'],
  ['--memory', '4g'],
  ['-m', '0'],
  ['--memory-swap', '-1'],
  ['--memory-swap', '0'],
  ['--memory-swap', '4g'],
  ['--ulimit', 'nofile=-1'],
  ['--ulimit', 'core=-1:-1'],
  ['--ulimit', 'memlock=-1:-1'],
  ['--ulimit', 'memlock=16777216'],
  ['--ulimit', 'rtprio=99'],
  ['--ulimit', 'nice=0:20'],
  ['--tmpfs', '/x'],
  ['--tmpfs', '/x:size=1g'],
  // The kernel takes the last size, and 0 means unbounded.
  ['--tmpfs', '/x:size=0'],
  ['--tmpfs', '/x:size=64m,size=50g'],
  ['--tmpfs', '/x:nr_blocks=0'],
  ['--tmpfs', '/x:size=64m,nr_blocks=1000000'],
  ['--tmpfs', '/x:size=50%'],
  ['--tmpfs', '/tmp'],
  ['--tmpfs', '/x:size=1m,suid'],
  ['--tmpfs', '/x:size=1m,dev'],
  ['--shm-size', '8g'],
  ['--cpus', '4'],
  ['--cpus', '0.0000000001'],
  ['--device', '/dev/kvm'],
  ['--volume', '/:/host'],
  ['-v', '/var/run/docker.sock:/var/run/docker.sock'],
  ['--mount', 'type=bind,source=/,target=/host'],
];

const LONG: Record<string, string> = { '-u': '--user', '-m': '--memory', '-v': '--volume', '--net': '--network' };
const long = (flag: string) => LONG[flag] ?? flag;
/** The name that permits exactly this use: capabilities as Docker spells them, the rest as written. */
const exactName = (flag: string, value: string) =>
  value === '' ? long(flag) : `${long(flag)}=${flag === '--cap-add' ? value.toUpperCase().replace(/^CAP_/, '') : value}`;

/** `--flag value`, and `--flag=value` where the flag has a long form that takes it. */
function spellings(flag: string, value: string): string[][] {
  return [[flag, value], [`${long(flag)}=${value}`]];
}

describe('runflags: containment is compared with the default policy', () => {
  it('the default policy is not weaker than itself', () => {
    expect(compare(defaultPolicy(), defaultPolicy())).toEqual([]);
  });

  describe.each(REFUSED)('%s %j', (flag, value) => {
    it.each(spellings(flag, value).map((s) => [s]))('refuses %j, naming the flag and what to allow', (runflags) => {
      const err = refusal(runflags);
      expect(err?.message).toContain(`flag "${runflags.join(' ')}" breaks containment`);
      expect(err?.message).toContain(`"${exactName(flag, value)}"`);
    });

    it.each(spellings(flag, value).map((s) => [s]))('permits %j when allowRunflags names it, by value or by flag', (runflags) => {
      expect(refusal(runflags, [exactName(flag, value)])).toBeNull();
      expect(refusal(runflags, [long(flag)])).toBeNull();
      // Aliases name the same flag.
      expect(refusal(runflags, [flag])).toBeNull();
    });
  });

  it.each([[['--privileged']], [['--privileged=true']]])('refuses %j unless "--privileged" is allowed', (runflags) => {
    expect(refusal(runflags)?.message).toMatch(/adds privilege/);
    expect(refusal(runflags, ['--privileged'])).toBeNull();
  });

  it('refuses --read-only=false: a writable layer is disk outside the job directory limit', () => {
    expect(refusal(['--read-only=false'])?.message).toMatch(/removes a limit.*writable container layer/);
    expect(refusal(['--read-only=false'], ['--read-only=false'])).toBeNull();
  });

  it('allowRunflags permits exactly what it names', () => {
    expect(refusal(['--cap-add', 'SYS_ADMIN'], ['--cap-add=NET_RAW'])?.message).toContain('SYS_ADMIN');
    expect(refusal(['--cap-add', 'NET_RAW', '--cap-add', 'SYS_ADMIN'], ['--cap-add=NET_RAW'])?.problems).toHaveLength(1);
    expect(refusal(['--network', 'bridge'], ['--network=host'])).not.toBeNull();
    expect(refusal(['--memory', '8g'], ['--memory=4g'])).not.toBeNull();
    expect(refusal(['--memory', '8g'], ['--cpus'])).not.toBeNull();
    expect(refusal(['--pid', 'container:x'], ['--pid=host'])).not.toBeNull();
    expect(refusal(['--mount', 'type=bind,source=/,target=/host'], ['--volume'])).not.toBeNull();
    // Today's names keep working.
    for (const [runflags, name] of [
      [['--privileged'], '--privileged'],
      [['-v', '/a:/b'], '--volume'],
      [['--mount', 'type=bind,source=/a,target=/b'], '--mount'],
      [['--device', '/dev/fuse'], '--device'],
      [['--pid=host'], '--pid=host'],
      [['--ipc', 'host'], '--ipc=host'],
      [['--net=host'], '--network=host'],
      [['--userns=host'], '--userns=host'],
    ] as [string[], string][]) {
      expect(refusal(runflags, [name])).toBeNull();
    }
  });

  it('lists every refused flag, not just the first', () => {
    const err = refusal(['--cap-add', 'SYS_ADMIN', '-u', '0', '--memory', '0']);
    expect(err?.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('"--cap-add SYS_ADMIN"'),
      expect.stringContaining('"--memory 0"'),
      expect.stringContaining('"-u 0"'),
    ]);
  });

  it.each([
    [['--memory', '512m']],
    [['-m', '1g', '--memory-swap', '1g']],
    [['--memory-swap', '2g']],
    [['--pids-limit', '10']],
    [['--cpus', '0.5']],
    [['--cap-drop', 'NET_RAW']],
    [['--read-only']],
    [['--read-only=true']],
    [['--privileged=false']],
    [['--network', 'none']],
    [['--ipc', 'none']],
    [['--ipc', 'private']],
    [['--tmpfs', '/tmp:size=16m']],
    [['--tmpfs', '/scratch:rw,exec,size=64m']],
    [['--shm-size', '32m']],
    [['--shm-size', '0']],
    [['--user', '1000']],
    [['--user', '1000:1000']],
    [['-u', 'nobody']],
    [['--ulimit', 'nofile=1024:2048']],
    [['--ulimit', 'memlock=1024']],
    [['--ulimit', 'core=0']],
    [['--ulimit', 'nice=0']],
    [['--security-opt', 'no-new-privileges']],
    [['--security-opt', 'no-new-privileges=true']],
    [['--security-opt=no-new-privileges:true']],
    [['-e', 'A=1', '--workdir', '/work']],
    // The policy that counts is the final one: a later flag tightens an earlier one.
    [['--memory', '0', '--memory', '1g']],
  ])('tightening is free: %j', (runflags) => {
    expect(refusal(runflags)).toBeNull();
  });

  it('applies what tightens', () => {
    const p = parseRunflags([
      '--memory=512m',
      '--pids-limit',
      '10',
      '--cap-drop=net_raw',
      '--ulimit',
      'memlock=1024',
      '--tmpfs',
      '/tmp:size=16m',
    ]);
    expect(p).toMatchObject({ memoryBytes: 512 * 1024 ** 2, pidsLimit: 10, capDrop: ['ALL', 'NET_RAW'], tmpfs: { '/tmp': 'size=16m' } });
    // A later ulimit replaces the default one for the same resource.
    expect(p.ulimits.filter((u) => u.name === 'memlock')).toEqual([{ name: 'memlock', soft: 1024, hard: 1024 }]);
  });

  it('rejects ulimits Docker does not know', () => {
    expect(refusal(['--ulimit', 'frobs=1'])?.message).toMatch(/not a ulimit/);
  });
});
