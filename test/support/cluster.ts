import { S3Client } from '@aws-sdk/client-s3';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { Client as PgClient } from 'pg';
import { DEPLOYMENT_LABEL, deploymentLabel, JOB_LABEL, NODE_LABEL } from '@menagerie/runtime';
import { admin } from './database';
import { writeEnginesFile, type TestEngine } from './engines-file';
import { DB, ROOT, s3Service } from './env';
import { portFree } from './ports';
import { S3Relay } from './relay';
import { removeDir, tempDir } from './temp-dir';
import { bucketContents, dropBucket } from './test-bucket';

/**
 * A real multi-node Menagerie started by scripts/cluster.sh, as a deployment
 * of its own (name, Temporal namespace, database, bucket), on free ports and
 * in a temporary directory. It shares the host's PostgreSQL, Temporal and
 * SeaweedFS, which it never stops; it reaches SeaweedFS through an S3Relay
 * in this process, so a test can take "S3" away from the cluster alone.
 */

/** A base port whose neighbours cluster.sh uses too: BASE (HAProxy), BASE+1.. (replicas), BASE+9 (stats). */
async function freePortBlock(apis: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = [base, base + 9, ...Array.from({ length: apis }, (_, i) => base + 1 + i)];
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports for the cluster');
}

export interface ClusterOptions {
  engines: TestEngine[];
  nodes?: string[];
  /** Nodes with a Docker daemon of their own (MENAGERIE_CLUSTER_OWN_DOCKERD). */
  ownDockerd?: string[];
  /** More environment for cluster.sh and every process it starts (a registry's settings, say). */
  env?: Record<string, string>;
  /** Nodes whose own Docker daemon runs with --userns-remap=default (MENAGERIE_CLUSTER_USERNS_REMAP; implies a daemon of their own). */
  usernsRemap?: string[];
}

export class TestCluster {
  readonly name = `test-cluster-${randomBytes(4).toString('hex')}`;
  readonly db = this.name.replace(/-/g, '_');
  readonly bucket = this.name;
  readonly namespace = this.name;
  readonly dir = tempDir('menagerie-cluster-', { until: 'file' });
  private readonly tmp = join(this.dir, 'tmp');
  /** The value of the deployment label this cluster's containers carry. */
  readonly deployment = deploymentLabel(this.name, this.name);
  readonly docker = new Docker();
  readonly s3: S3Client;
  private temporalClient: TemporalClient | null = null;
  private extraEnv: Record<string, string> = {};
  private pg: PgClient | null = null;
  private readonly confDir: string;

  private constructor(
    readonly port: number,
    readonly relay: S3Relay,
    readonly nodes: string[],
    engines: TestEngine[],
    private readonly usernsRemap: string[] = [],
  ) {
    const service = s3Service();
    this.s3 = new S3Client({ endpoint: service.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: service });
    // The confs the apps read: the repository's settings, and engines of the test's own.
    this.confDir = dirname(writeEnginesFile(engines));
    copyFileSync(join(ROOT, 'confs/default.json'), join(this.confDir, 'default.json'));
    mkdirSync(this.tmp);
  }

  static async start(options: ClusterOptions): Promise<TestCluster> {
    const relay = await S3Relay.start(s3Service().endpoint);
    const cluster = new TestCluster(
      await freePortBlock(2),
      relay,
      options.nodes ?? ['node-a', 'node-b'],
      options.engines,
      options.usernsRemap,
    );
    cluster.extraEnv = {
      ...(options.ownDockerd?.length ? { MENAGERIE_CLUSTER_OWN_DOCKERD: options.ownDockerd.join(' ') } : {}),
      ...options.env,
    };
    try {
      await cluster.up();
      cluster.pg = new PgClient({ ...DB, database: cluster.db });
      await cluster.pg.connect();
      const connection = await Connection.connect({ address: '127.0.0.1:7233' });
      cluster.temporalClient = new TemporalClient({ connection, namespace: cluster.namespace });
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** Through HAProxy. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get temporal(): TemporalClient {
    return this.temporalClient!;
  }

  get apis(): string[] {
    return ['api-1', 'api-2'];
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      MENAGERIE_SERVICES_READY: '1',
      MENAGERIE_CLUSTER_DIR: this.dir,
      // Temporary files of everything it starts go with the cluster's directory: a worker's tool shells never remove theirs.
      TMPDIR: this.tmp,
      MENAGERIE_CLUSTER_PORT: String(this.port),
      MENAGERIE_CLUSTER_APIS: '2',
      MENAGERIE_CLUSTER_NODES: this.nodes.join(' '),
      MENAGERIE_CLUSTER_NAME: this.name,
      MENAGERIE_CLUSTER_STORAGE: 's3',
      MENAGERIE_CLUSTER_S3_ENDPOINT: this.relay.endpoint,
      MENAGERIE_CONF_DIR: this.confDir,
      MENAGERIE_STORAGE_DIR: join(this.dir, 'data'),
      ...this.extraEnv,
      ...(this.usernsRemap.length ? { MENAGERIE_CLUSTER_USERNS_REMAP: this.usernsRemap.join(' ') } : {}),
    };
  }

  /** A client of the Docker daemon of a node that has one of its own (cluster.sh's dockerd_socket). */
  nodeDocker(node: string): Docker {
    return new Docker({ socketPath: join(this.dir, `${node}-docker`, 'docker.sock') });
  }

  /**
   * Runs scripts/cluster.sh asynchronously: the relay lives in this process,
   * and the replicas reach S3 through it while they boot.
   */
  private script(command: 'up' | 'down'): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(ROOT, 'scripts/cluster.sh'), command], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
      child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cluster.sh ${command} exited ${code}:\n${output}`))));
    });
  }

  /** Starts whatever of the cluster is not running (cluster.sh up is idempotent). */
  up(): Promise<void> {
    return this.script('up');
  }

  pid(name: string): number | null {
    const file = join(this.dir, `${name}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
  }

  /** SIGKILLs one process of the cluster and waits for it to be gone. */
  async kill(name: string): Promise<void> {
    const pid = this.pid(name);
    if (!pid) throw new Error(`${name} has no pidfile`);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`${name} (${pid}) still there after SIGKILL`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  logFile(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  /** How far a process's log has got, to read only what comes after. */
  logOffset(name: string): number {
    return existsSync(this.logFile(name)) ? statSync(this.logFile(name)).size : 0;
  }

  logSince(name: string, offset: number): string {
    return readFileSync(this.logFile(name)).subarray(offset).toString();
  }

  /** Rows of the cluster's database. */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pg!.query(sql, params)).rows as T[];
  }

  /** The HAProxy backend server (api-1, api-2) holding the client connection from this local port, if any. */
  async replicaServing(clientPort: number): Promise<string | null> {
    const sessions = await new Promise<string>((resolve, reject) => {
      const socket = connect(join(this.dir, 'haproxy.sock'));
      let out = '';
      socket.on('data', (c) => (out += c.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
      socket.write('show sess\n');
    });
    const line = sessions.split('\n').find((l) => l.includes(` src=127.0.0.1:${clientPort} `) && l.includes(' fe=api '));
    const srv = line ? / srv=([^ ]+)/.exec(line)?.[1] : undefined;
    return srv && srv !== '<none>' ? srv : null;
  }

  /** Every object key and unfinished multipart upload in the cluster's bucket (through the real service, not the relay). */
  bucketContents(): Promise<{ objects: string[]; uploads: string[] }> {
    return bucketContents(this.s3, this.bucket);
  }

  /** Job containers of this cluster (of one node, when given). */
  async containers(node?: string): Promise<Docker.ContainerInfo[]> {
    const label = [`${DEPLOYMENT_LABEL}=${this.deployment}`, ...(node ? [`${NODE_LABEL}=${node}`] : [])];
    return this.docker.listContainers({ all: true, filters: { label } });
  }

  /** Containers of these jobs, whatever made them. */
  async containersOf(jobIds: string[]): Promise<Docker.ContainerInfo[]> {
    return (await this.containers()).filter((c) => jobIds.includes(c.Labels[JOB_LABEL]));
  }

  /** Removes a node's containers, as a machine that died would take them with it. */
  async removeContainers(node: string): Promise<string[]> {
    const found = await this.containers(node);
    await Promise.all(found.map((c) => this.docker.getContainer(c.Id).remove({ force: true })));
    return found.map((c) => c.Labels[JOB_LABEL]);
  }

  /** Stops the cluster and removes what it made: database, bucket, namespace, directory. Never the shared services. */
  async destroy(): Promise<void> {
    await this.relay.up(); // nodes store what they still hold on the way down
    await this.script('down').catch((err) => console.error(String(err)));
    await this.pg?.end().catch(() => undefined);
    await this.temporalClient?.connection.close().catch(() => undefined);
    // Its containers are this deployment's alone.
    for (const c of await this.containers().catch(() => []))
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${this.db} WITH (FORCE)`)).catch((err) => console.error(String(err)));
    await dropBucket(this.s3, this.bucket).catch((err) => console.error(`bucket ${this.bucket}: ${String(err)}`));
    await new Promise<void>((resolve) =>
      execFile(
        process.env.TEMPORAL_BIN ?? join(ROOT, '.cache/bin/temporal'),
        ['operator', 'namespace', 'delete', '-n', this.namespace, '-y', '--address', '127.0.0.1:7233'],
        () => resolve(),
      ),
    );
    await this.relay.down();
    this.s3.destroy();
    removeDir(this.dir); // with the job volumes a node killed mid-run left mounted
    removeDir(this.confDir);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not yet reaped by its parent) is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
