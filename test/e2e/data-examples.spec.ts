import Docker from 'dockerode';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packBundle } from '@menagerie/engines';
import { collect, pushFiles, pushTar } from '../support/bundles';
import { writeShippedEnginesFile } from '../support/engines-file';
import { ROOT } from '../support/env';
import { body } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

/** The catalogue's engines that ship an example bundle (engines/<engine>/data/<bundle>/), as start.sh pushes them. */
const SHIPPED = readdirSync(join(ROOT, 'engines')).flatMap((engine) => {
  const dir = join(ROOT, 'engines', engine, 'data');
  try {
    return readdirSync(dir).map((bundle) => ({ engine, bundle, dir: join(dir, bundle) }));
  } catch {
    return [];
  }
});

const built = (engine: string) =>
  new Docker()
    .getImage(`menagerie/${engine}:stable`)
    .inspect()
    .then(
      () => true,
      () => false,
    );

/** push_example_bundles (scripts/lib/bundles.sh), as start.sh runs it. */
function pushExamples(api: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      ['-c', 'source scripts/lib/common.sh && push_example_bundles "$1"', 'bash', api],
      { cwd: ROOT },
      (err, _out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stderr)),
    ),
  );
}

/** The catalogue's example bundles on the real system, for the engines whose images are built. */
describe("the engines' example bundles", () => {
  let sys: System | undefined;
  let engines: string[] = [];
  const current = async (engine: string, bundle: string) => {
    const listed = await body(await fetch(`${sys!.baseUrl}/engines/${engine}/data`));
    return listed.bundles.find((b: { bundle: string }) => b.bundle === bundle) as {
      current: { digest: string } | null;
      history: unknown[];
    };
  };

  beforeAll(async () => {
    const names = [...new Set(SHIPPED.map((s) => s.engine))];
    engines = (await Promise.all(names.map(async (name) => ((await built(name)) ? name : null)))).filter((n): n is string => n !== null);
    if (!engines.length) return;
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'apps/cli'], { cwd: ROOT, stdio: 'inherit' });
    sys = await startSystem({ enginesFile: writeShippedEnginesFile('menagerie-examples-', [], engines) });
    await until('a node serving every engine', async () =>
      (await body(await fetch(`${sys!.baseUrl}/engines`))).engines.every((e: { available: boolean }) => e.available),
    );
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const skipped = () => !sys && (console.warn('no engine with an example bundle is built (bash scripts/build-images.sh): skipped'), true);

  it('are pushed by start.sh where no version is, each accepted by its own check; again, nothing changes; an operator push stays', async () => {
    if (skipped()) return;
    await pushExamples(sys!.baseUrl);
    for (const { engine, bundle, dir } of SHIPPED.filter((s) => engines.includes(s.engine))) {
      const example = await collect((await packBundle(dir)).tar());
      const { current: now, history } = await current(engine, bundle);
      expect(history).toHaveLength(1);
      // The same version a push of the directory makes: answered 200, unchanged.
      const again = await pushTar(sys!.baseUrl, engine, bundle, example);
      expect([engine, again.status, (await body(again)).digest]).toEqual([engine, 200, now?.digest]);
    }
    const yara = engines.includes('yara');
    if (yara) expect((await pushFiles(sys!.baseUrl, 'yara', 'rules', { 'mine.yar': 'rule Mine { condition: true }\n' })).status).toBe(201);
    const before = yara ? (await current('yara', 'rules')).current!.digest : null;
    await pushExamples(sys!.baseUrl);
    for (const { engine, bundle } of SHIPPED.filter((s) => engines.includes(s.engine)))
      expect((await current(engine, bundle)).history).toHaveLength(engine === 'yara' ? 2 : 1);
    if (yara) expect((await current('yara', 'rules')).current!.digest).toBe(before);
  });

  it("refuses a yara rule that does not compile with yara's own message", async () => {
    if (skipped() || !engines.includes('yara')) return;
    const bad = await pushFiles(sys!.baseUrl, 'yara', 'rules', { 'broken.yar': 'rule broken { condition: nonsense_identifier }\n' });
    expect(bad.status).toBe(422);
    const refusal = await body(bad);
    expect(refusal.error).toBe('DATA_BUNDLE_REFUSED');
    expect(refusal.message).toMatch(/the rules do not compile: .*broken\.yar.*nonsense_identifier/s);
  });
});
