import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';
import { ROOT } from './env';
import { removeDir, tempDir } from './temp-dir';

const run = promisify(execFile);

/**
 * A private registry of a test's own, started by scripts/registry.sh (TLS,
 * htpasswd) in a temporary directory on a free port; the host daemon trusts
 * its CA for that address only, and `down` takes the trust away again.
 */
export class TestRegistry {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async up(): Promise<TestRegistry> {
    const registry = new TestRegistry(tempDir('menagerie-registry-', { until: 'file' }), await freePort());
    await registry.start();
    return registry;
  }

  /** What scripts/registry.sh wrote for the apps: MENAGERIE_REGISTRY_ADDRESS, _USERNAME, _PASSWORD, MENAGERIE_REGSERVER, DOCKER_CONFIG. */
  get settings(): Record<string, string> {
    const pairs = readFileSync(join(this.dir, 'registry.env'), 'utf8').trim().split('\n');
    return Object.fromEntries(pairs.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }

  get address(): string {
    return this.settings.MENAGERIE_REGISTRY_ADDRESS!;
  }

  /** The environment that gives a worker this registry: enabled, with its credentials. */
  get workerEnv(): Record<string, string> {
    const { MENAGERIE_REGISTRY_ADDRESS, MENAGERIE_REGISTRY_USERNAME, MENAGERIE_REGISTRY_PASSWORD } = this.settings;
    return {
      MENAGERIE_REGISTRY_ENABLED: 'true',
      MENAGERIE_REGISTRY_ADDRESS: MENAGERIE_REGISTRY_ADDRESS!,
      MENAGERIE_REGISTRY_USERNAME: MENAGERIE_REGISTRY_USERNAME!,
      MENAGERIE_REGISTRY_PASSWORD: MENAGERIE_REGISTRY_PASSWORD!,
    };
  }

  private script(command: 'up' | 'down' | 'purge'): Promise<void> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, MENAGERIE_REGISTRY_DIR: this.dir, MENAGERIE_REGISTRY_PORT: String(this.port) };
      const child = spawn('bash', [join(ROOT, 'scripts/registry.sh'), command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`registry.sh ${command} exited ${code}:\n${output}`))));
    });
  }

  start(): Promise<void> {
    return this.script('up');
  }

  /** The registry goes away (and the daemon's trust in it); its images stay for the next start. */
  stop(): Promise<void> {
    return this.script('down');
  }

  /** Gives its one user another password (the one workers were given is then wrong), and restarts it. */
  async changePassword(): Promise<void> {
    await this.stop();
    writeFileSync(join(this.dir, 'password'), `changed-${Date.now()}\n`, { mode: 0o600 });
    await this.start();
  }

  private docker(args: string[]): Promise<{ stdout: string }> {
    return run('docker', args, { env: { ...process.env, DOCKER_CONFIG: this.settings.DOCKER_CONFIG }, maxBuffer: 16 * 1024 * 1024 });
  }

  /**
   * Builds `<registry>/<name>` FROM a local image with `lines` added to its
   * Dockerfile, pushes it, and removes it from the host's daemon again (so a
   * node on that daemon must pull it too); answers its registry digest.
   */
  async publish(name: string, from: string, lines: string[]): Promise<string> {
    const ref = `${this.address}/${name}`;
    const context = tempDir('menagerie-image-');
    writeFileSync(join(context, 'Dockerfile'), [`FROM ${from}`, ...lines].join('\n') + '\n');
    try {
      await run('docker', ['build', '--pull=false', '-q', '-t', ref, context], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    } finally {
      removeDir(context);
    }
    const { stdout } = await this.docker(['push', ref]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
    if (!digest) throw new Error(`docker push ${ref} printed no digest:\n${stdout}`);
    await this.docker(['rmi', ref]);
    return digest;
  }

  /** Every image of this registry on the host's daemon (what nodes on it pulled), by name: never by id, which other tags may share. */
  async removeLocalImages(): Promise<void> {
    const { stdout } = await this.docker(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']);
    for (const [repository, tag, digest] of stdout.split('\n').map((l) => l.split(' '))) {
      if (!repository?.startsWith(`${this.address}/`)) continue;
      const ref = tag && tag !== '<none>' ? `${repository}:${tag}` : `${repository}@${digest}`;
      await this.docker(['rmi', ref]).catch(() => undefined);
    }
  }

  /** Stops it and deletes everything it had. */
  async purge(): Promise<void> {
    await this.removeLocalImages().catch(() => undefined);
    await this.script('purge');
  }
}
