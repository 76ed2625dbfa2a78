import { ConfigError } from '@menagerie/core';
import { parseEngines, parseRunflags, renderTemplate, RunflagError } from '@menagerie/engines';
import { problemsOf } from '../support/config-error';

const vars = { regserver: 'registry.local:5000', uid: 1234 };

function engineJson(overrides: Record<string, unknown> = {}, user = '{{uid}}'): string {
  const base = {
    name: 'apktool',
    workers: 2,
    image: '{{regserver}}/apktool:stable',
    runflags: ['--memory', '1g'],
    cmd: '/engine/run.sh',
    mountpoint: '/var/data',
    sizelimit: 50000000,
    inputfilename: 'sample.apk',
    timeout: 240,
    ...overrides,
  };
  // `user` is written unquoted, as in the original format, so templating happens on the text.
  return `{"engines": [${JSON.stringify(base).replace(/}$/, `, "user": ${user}}`)}]}`;
}

describe('engines.json', () => {
  it('parses the original format with {{regserver}} and {{uid}} templating', () => {
    const [engine] = parseEngines('engines.json', engineJson(), vars);
    expect(engine.config.image).toBe('registry.local:5000/apktool:stable');
    expect(engine.spec.user).toBe('1234');
    expect(engine.spec.cmd).toEqual(['/engine/run.sh']);
    expect(engine.policy.memoryBytes).toBe(1024 ** 3);
  });

  it('drops the registry prefix when no registry is configured', () => {
    expect(renderTemplate('"{{regserver}}/x:1"', { regserver: '', uid: 1 })).toBe('"x:1"');
  });

  it('names the file, the engine and the field of every problem', () => {
    const err = (() => {
      try {
        parseEngines('/etc/menagerie/engines.json', engineJson({ timeout: -1, workers: 0 }), vars);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(err.message).toContain('/etc/menagerie/engines.json');
    expect(err.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^engines\[0\] \(apktool\)\.timeout: /),
        expect.stringMatching(/^engines\[0\] \(apktool\)\.workers: /),
      ]),
    );
  });

  it('rejects unknown fields, duplicate names, path-like input names and reserved names', () => {
    expect(problemsOf(() => parseEngines('e.json', engineJson({ extra: 1 }), vars))[0]).toMatch(/extra/);
    expect(problemsOf(() => parseEngines('e.json', engineJson({ inputfilename: '../x' }), vars))[0]).toMatch(/inputfilename/);
    expect(problemsOf(() => parseEngines('e.json', engineJson({ name: 'result' }), vars))[0]).toMatch(/reserved/);
    const one = JSON.parse(renderTemplate(engineJson(), vars)).engines[0];
    const twice = JSON.stringify({ engines: [one, one] });
    expect(problemsOf(() => parseEngines('e.json', twice, vars))[0]).toMatch(/engines\[1\] \(apktool\)\.name: duplicate/);
  });

  it('reports JSON that does not parse', () => {
    expect(problemsOf(() => parseEngines('e.json', '{"engines": [', vars))[0]).toMatch(/not valid JSON/);
  });

  it('names the engine and the flag when a runflag is unknown', () => {
    const problems = problemsOf(() => parseEngines('e.json', engineJson({ runflags: ['--frobnicate', 'yes'] }), vars));
    expect(problems[0]).toMatch(/^engines\[0\] \(apktool\)\.runflags: unknown flag "--frobnicate"/);
  });
});

describe('runflags', () => {
  it('contains by default: no network, no capabilities, read-only, limits', () => {
    const p = parseRunflags([]);
    expect(p).toMatchObject({ network: 'none', capDrop: ['ALL'], readOnlyRootfs: true, privileged: false, binds: [] });
    expect(p.securityOpt).toContain('no-new-privileges');
    expect(p.pidsLimit).toBeGreaterThan(0);
    expect(p.memoryBytes).toBeGreaterThan(0);
  });

  it('accepts --flag value and --flag=value alike', () => {
    const a = parseRunflags(['--memory', '512m', '--cpus', '0.5', '--pids-limit', '50', '-e', 'A=1', '--tmpfs', '/scratch:size=10m']);
    const b = parseRunflags(['--memory=512m', '--cpus=0.5', '--pids-limit=50', '--env=A=1', '--tmpfs=/scratch:size=10m']);
    expect(a).toEqual(b);
    expect(a.memoryBytes).toBe(512 * 1024 ** 2);
    expect(a.nanoCpus).toBe(0.5e9);
    expect(a.env).toEqual(['A=1']);
    expect(a.tmpfs['/scratch']).toBe('size=10m');
  });

  it('parses ulimits, and security options, capabilities and --read-only=false when allowed', () => {
    const allowed = ['--security-opt=seccomp=unconfined', '--cap-add=CHOWN', '--read-only=false'];
    const p = parseRunflags(
      ['--ulimit', 'nofile=64:128', '--security-opt', 'seccomp=unconfined', '--cap-add', 'chown', '--read-only=false'],
      allowed,
    );
    expect(p.ulimits).toContainEqual({ name: 'nofile', soft: 64, hard: 128 });
    expect(p.securityOpt).toEqual(['no-new-privileges', 'seccomp=unconfined']);
    expect(p.capAdd).toEqual(['CHOWN']);
    expect(p.readOnlyRootfs).toBe(false);
  });

  it.each([
    [['--privileged'], '--privileged'],
    [['-v', '/:/host'], '--volume'],
    [['--mount', 'type=bind,source=/,target=/host'], '--mount'],
    [['--device', '/dev/kvm'], '--device'],
    [['--pid=host'], '--pid=host'],
    [['--ipc', 'host'], '--ipc=host'],
    [['--network', 'host'], '--network=host'],
    [['--net=host'], '--network=host'],
    [['--userns=host'], '--userns=host'],
  ])('refuses %j unless allowed', (flags, name) => {
    expect(() => parseRunflags(flags)).toThrow(RunflagError);
    expect(() => parseRunflags(flags)).toThrow(name);
    expect(() => parseRunflags(flags, [name])).not.toThrow();
  });

  it('rejects malformed values with the flag named', () => {
    expect(() => parseRunflags(['--memory', 'lots'])).toThrow(/--memory/);
    expect(() => parseRunflags(['--cpus'])).toThrow(/needs a value/);
    expect(() => parseRunflags(['--ulimit', 'nofile'])).toThrow(/--ulimit/);
  });
});
