import { configuredEnv, envNames, parseEngines, parseRunflags, withoutEnvValues } from '@menagerie/engines';
import { problemsOf } from '../support/config-error';
import { engineJson, refusal, vars } from '../support/runflags';

// An engine's "user" and runflags in engines.json, and environment values kept out of what leaves the process.
// The flags against the default policy: runflags.spec.ts.

describe('engines.json: the engine\'s "user" and its runflags', () => {
  it.each(['0', '"0"', '"+0"', '"-0"', '"root"', '"0:0"', '"1000:0"'])('refuses "user": %s, naming the engine and the field', (user) => {
    const problems = problemsOf(() => parseEngines('e.json', engineJson(user), vars));
    expect(problems).toEqual([
      expect.stringMatching(/^engines\[0\] \(apktool\)\.user: "user": ".*" in engines\.json breaks containment: it adds privilege/),
    ]);
  });

  it('permits a root "user" when allowRunflags names --user', () => {
    expect(parseEngines('e.json', engineJson('0'), vars, ['--user=0'])[0].spec.user).toBe('0');
    expect(parseEngines('e.json', engineJson('"root"'), vars, ['--user'])[0].spec.user).toBe('root');
  });

  it('checks the user -u gives, in place of "user"', () => {
    expect(problemsOf(() => parseEngines('e.json', engineJson('1000', ['-u', '0']), vars))[0]).toMatch(
      /^engines\[0\] \(apktool\)\.runflags: flag "-u 0"/,
    );
    expect(parseEngines('e.json', engineJson('0', ['-u', '1000']), vars)[0].spec.user).toBe('1000');
  });

  it('names the engine and each refused flag', () => {
    const problems = problemsOf(() => parseEngines('e.json', engineJson('1000', ['--cap-add', 'SYS_ADMIN', '--network=host']), vars));
    expect(problems).toEqual([
      expect.stringMatching(/^engines\[0\] \(apktool\)\.runflags: flag "--network=host" breaks containment: it lowers isolation/),
      expect.stringMatching(/^engines\[0\] \(apktool\)\.runflags: flag "--cap-add SYS_ADMIN" breaks containment: it adds privilege/),
    ]);
  });
});

describe('environment values stay out of what leaves the process', () => {
  it('takes a separate value that looks like a flag for a flag, so no reader can split the list another way', () => {
    // As a value of --user, "-e" would hide the next pair from withoutEnvValues and leak its value.
    expect(() => parseRunflags(['--user', '-e', '-e', 'SECRET=hunter2'])).toThrow(/flag "--user" needs a value, not the flag "-e"/);
    expect(withoutEnvValues(['--user=-e', '-e', 'SECRET=hunter2'])).toEqual(['--user=-e', '-e', 'SECRET']);
    expect(parseRunflags(['--pids-limit', '-1'], ['--pids-limit']).pidsLimit).toBe(-1);
  });

  it('withoutEnvValues keeps the names and every other flag as written', () => {
    expect(withoutEnvValues(['-e', 'A=1', '--env=B=2=3', '--env', 'C', '--memory', '1g', '-w', '/e', '--cpus=1'])).toEqual([
      '-e',
      'A',
      '--env=B',
      '--env',
      'C',
      '--memory',
      '1g',
      '-w',
      '/e',
      '--cpus=1',
    ]);
  });

  it('parseRunflags accepts a bare name, as a workflow input holds it', () => {
    expect(parseRunflags(['-e', 'TOKEN', '--env=OTHER']).env).toEqual(['TOKEN', 'OTHER']);
    expect(refusal(['-e', '=x'])?.message).toMatch(/NAME=value/);
  });

  it('an engine keeps the values for the worker; its spec, the workflow input, has names only', () => {
    const [engine] = parseEngines('e.json', engineJson('1000', ['-e', 'TOKEN=hunter2', '--memory', '1g']), vars);
    expect(engine.spec.runflags).toEqual(['-e', 'TOKEN', '--memory', '1g']);
    expect(JSON.stringify(engine.spec)).not.toContain('hunter2');
    expect(configuredEnv(engine)).toEqual(['TOKEN=hunter2']);
    expect(envNames(engine.policy.env)).toEqual(['TOKEN']);
    // The worker re-parses the spec: same policy, the value left out.
    expect(parseRunflags(engine.spec.runflags, [], { user: engine.spec.user })).toEqual({ ...engine.policy, env: ['TOKEN'] });
  });

  it('engines.json may set a variable once: twice, Docker and the worker would disagree on its value', () => {
    const [problem] = problemsOf(() => parseEngines('e.json', engineJson('1000', ['-e', 'A=1', '--env=A=2']), vars));
    expect(problem).toMatch(
      /^engines\[0\] \(\w[\w-]*\)\.runflags: --env: environment variable A is set twice \("A=1" and "A=2"\); set it once/,
    );
    expect(parseRunflags(['-e', 'A=1', '-e', 'B=1']).env).toEqual(['A=1', 'B=1']);
  });

  it('engines.json must give each variable a value', () => {
    expect(problemsOf(() => parseEngines('e.json', engineJson('1000', ['-e', 'TOKEN']), vars))[0]).toMatch(
      /runflags: -e TOKEN: needs a value/,
    );
  });
});
