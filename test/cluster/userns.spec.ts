import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, openAsBlob, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { JOB_LABEL } from '@menagerie/runtime';
import { readTarGz } from '../support/archive';
import { TestCluster } from '../support/cluster';
import { sampleEngine } from '../support/sample-engines';
import { FIXTURES, ROOT } from '../support/env';
import { body, getJob, uploadBytes, waitForJob, type Job } from '../support/http';
import { until } from '../support/until';

jest.setTimeout(600_000);

/*
 * User-namespace remapping (issue 14, part 3): a cluster whose only worker
 * node runs on a Docker daemon of its own started with --userns-remap=default
 * (scripts/cluster.sh, MENAGERIE_CLUSTER_USERNS_REMAP). An engine's uid N runs
 * as host uid base+N, base the start of dockremap's range in /etc/subuid; its
 * job directory must be the remapped user's for it to write its result.
 */

/** The engines' user inside their containers: confs/default.json's uid. */
const ENGINE_UID = JSON.parse(readFileSync(join(__dirname, '../../confs/default.json'), 'utf8')).uid as number;

/**
 * Writes its uid and gid to `started` in its directory (which fails unless
 * the directory is its own), then waits for the test to create `go` there: the container runs for
 * as long as the test looks at it. Its result is who it is inside.
 */
const WAITS = [
  'sh',
  '-c',
  'd="$MENAGERIE_MOUNTPOINT"; echo "$(id -u) $(id -g)" > "$d/started" || exit 3; while [ ! -e "$d/go" ]; do sleep 0.1; done; ' +
    'printf \'{"uid":%s,"gid":%s}\' "$(id -u)" "$(id -g)" > "$d/result"',
];

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The start of a user's subordinate range (/etc/subuid, /etc/subgid). */
function rangeStart(file: string, user: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`${file} has no range for ${user}`);
  return Number(line.split(':')[1]);
}

/** The Uid: and Gid: lines of a host process (real, effective, saved, filesystem). */
function idsOf(pid: number): { uid: number[]; gid: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (key: string) => new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(status)![1]!.trim().split(/\s+/).map(Number);
  return { uid: ids('Uid'), gid: ids('Gid') };
}

describe('a worker node on a Docker daemon with --userns-remap=default', () => {
  let c: TestCluster;
  let nodeDocker: Docker;
  let base: { uid: number; gid: number };

  beforeAll(async () => {
    c = await TestCluster.start({
      nodes: ['node-u'],
      usernsRemap: ['node-u'],
      engines: [
        sampleEngine('filemeta', { workers: 1 }),
        sampleEngine('apktool', { workers: 1 }),
        { name: 'waits', cmd: WAITS, workers: 1, runflags: ['--memory', '64m', '--pids-limit', '16'], timeout: 120 },
      ],
    });
    nodeDocker = c.nodeDocker('node-u');
    // dockerd --userns-remap=default made the dockremap user and its ranges, if the host had none.
    base = { uid: rangeStart('/etc/subuid', 'dockremap'), gid: rangeStart('/etc/subgid', 'dockremap') };
  }, 300_000);

  afterAll(async () => {
    await c?.destroy();
  }, 300_000);

  it("is a remapped daemon of the node's own, with its own image store holding the same images", async () => {
    const info = await nodeDocker.info();
    expect(info.SecurityOptions).toContain('name=userns');
    expect(info.DockerRootDir).toBe(join(c.dir, 'node-u-docker', 'data', `${base.uid}.${base.gid}`));
    // Copied by cluster.sh with docker save | load: the same image id, and (built here) no registry digest, so the id is the digest.
    const host = await new Docker().getImage('menagerie/filemeta:stable').inspect();
    const own = await nodeDocker.getImage('menagerie/filemeta:stable').inspect();
    expect(own.Id).toBe(host.Id);
    const { engines } = await body<{ engines: Array<{ name: string; imageDigest: string | null }> }>(await fetch(`${c.url}/engines`));
    expect(engines.find((e) => e.name === 'filemeta')?.imageDigest).toBe(host.Id);
  });

  it('runs on the hardened daemon configuration of docker/daemon: live restore, no new privileges for every container, bounded logs', async () => {
    const info = await nodeDocker.info();
    expect({ liveRestore: info.LiveRestoreEnabled, logging: info.LoggingDriver }).toEqual({ liveRestore: true, logging: 'local' });
    // The configuration file the running daemon was started with: docker/daemon's, less icc (no iptables beside the host's daemon).
    const pid = Number(readFileSync(join(c.dir, 'node-u-docker', 'dockerd.pid'), 'utf8').trim());
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const config = JSON.parse(readFileSync(args[args.indexOf('--config-file') + 1]!, 'utf8')) as Record<string, unknown>;
    const { icc, ...hardened } = JSON.parse(readFileSync(join(ROOT, 'docker/daemon/daemon.json'), 'utf8')) as Record<string, unknown>;
    expect(icc).toBe(false);
    expect(config).toEqual(hardened);
    expect(config).toMatchObject({ 'no-new-privileges': true, 'live-restore': true, 'userland-proxy': false });
    // A container that asks for nothing still runs with no_new_privs set.
    const status = execFileSync('docker', [
      '-H',
      `unix://${join(c.dir, 'node-u-docker', 'docker.sock')}`,
      'run',
      '--rm',
      '--network',
      'none',
      'menagerie/filemeta:stable',
      'cat',
      '/proc/self/status',
    ]).toString();
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  });

  it('runs both sample engines to completion, with the right results', async () => {
    const note = `MZ userns note\nmenagerie-userns-marker-${randomUUID()}\n`;
    const form = new FormData();
    form.append('upload', await openAsBlob(join(FIXTURES, 'sample.apk')), 'sample.apk');
    const [meta, apk] = await Promise.all([
      body<Job>(await uploadBytes(c.url, 'filemeta', note, 'note.txt')),
      body<Job>(await fetch(`${c.url}/apktool/upload?force=true`, { method: 'POST', body: form })),
    ]);
    const [metaDone, apkDone] = await Promise.all([waitForJob(c.url, meta.jobid), waitForJob(c.url, apk.jobid)]);

    expect(metaDone).toMatchObject({ status: 'completed', exitCode: 0, error: null, node: 'node-u' });
    const result = JSON.parse(Buffer.from(await (await fetch(`${c.url}/link/${meta.jobid}`)).arrayBuffer()).toString());
    expect(result).toMatchObject({ engine: 'filemeta', sha256: sha256(note), size: Buffer.byteLength(note) });

    expect(apkDone).toMatchObject({ status: 'completed', exitCode: 0, error: null, node: 'node-u' });
    const tree = await readTarGz(Buffer.from(await (await fetch(`${c.url}/link/${apk.jobid}`)).arrayBuffer()));
    expect([...tree.keys()]).toEqual(
      expect.arrayContaining(['AndroidManifest.xml', 'apktool.yml', 'smali/org/menagerie/sample/MainActivity.smali']),
    );
    expect(tree.get('AndroidManifest.xml')!.toString()).toContain('package="org.menagerie.sample"');

    // What ran is recorded by the image id the remapped daemon resolved: the host's id of the same image.
    const [row] = await c.query<{ image_digest: string }>('SELECT image_digest FROM jobs WHERE id = $1', [meta.jobid]);
    expect(row!.image_digest).toBe((await new Docker().getImage('menagerie/filemeta:stable').inspect()).Id);
  });

  it("runs an engine's process as an unprivileged host uid, its remapped one, in a job directory that uid owns", async () => {
    const job = await body<Job>(await uploadBytes(c.url, 'waits', `waits ${randomUUID()}`, 'in.txt'));

    // Its container on the node's daemon, running (never the host's daemon: it has none of this cluster's).
    const seen = await until('the engine container running on the remapped daemon, or the job ended', async () => {
      const [found] = await nodeDocker.listContainers({ filters: { label: [`${JOB_LABEL}=${job.jobid}`] } });
      const inspected = found ? await nodeDocker.getContainer(found.Id).inspect() : null;
      if (inspected?.State.Running && inspected.State.Pid > 0) return { container: inspected };
      const now = await getJob(c.url, job.jobid);
      return ['failed', 'completed'].includes(now.status) ? { ended: now } : null;
    });
    expect(seen.ended).toBeUndefined();
    const container = seen.container!;
    const dir = container.Mounts.find((m) => m.Destination === '/var/data')!.Source;
    // The engine wrote into its directory (it exits 3 otherwise), so it runs; no time is guessed.
    await until(
      'the engine writing into its job directory',
      async () => existsSync(join(dir, 'started')) || ['failed', 'completed'].includes((await getJob(c.url, job.jobid)).status),
    );
    expect(existsSync(join(dir, 'started'))).toBe(true);

    // Inside, the engine's uid (and the group Docker gave it: 0 for a uid the image's passwd lacks).
    const [insideUid, insideGid] = readFileSync(join(dir, 'started'), 'utf8').trim().split(' ').map(Number) as [number, number];
    expect(insideUid).toBe(ENGINE_UID);
    // On the host, its process's real, effective, saved and filesystem ids are the remapped ones.
    const hostUid = base.uid + ENGINE_UID;
    const ids = idsOf(container.State.Pid);
    expect(ids.uid).toEqual([hostUid, hostUid, hostUid, hostUid]);
    expect(ids.gid).toEqual(Array(4).fill(base.gid + insideGid));
    expect(hostUid).toBeGreaterThanOrEqual(base.uid);
    expect(ids.uid).not.toContain(0);
    expect(ids.uid).not.toContain(ENGINE_UID);

    // Its job directory and input are the remapped user's on the host (gid: the worker's rule, the uid's number), and so is what it wrote.
    for (const path of [dir, join(dir, 'input')]) {
      expect({ path, uid: statSync(path).uid, gid: statSync(path).gid }).toEqual({ path, uid: hostUid, gid: base.gid + ENGINE_UID });
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect({ uid: statSync(join(dir, 'started')).uid, gid: statSync(join(dir, 'started')).gid }).toEqual({
      uid: hostUid,
      gid: base.gid + insideGid,
    });

    writeFileSync(join(dir, 'go'), '');
    const done = await waitForJob(c.url, job.jobid);
    expect(done).toMatchObject({ status: 'completed', exitCode: 0, node: 'node-u' });
    // Inside, it is the engine's own uid: only the host sees the remapped one.
    expect(JSON.parse(Buffer.from(await (await fetch(`${c.url}/link/${job.jobid}`)).arrayBuffer()).toString())).toEqual({
      uid: ENGINE_UID,
      gid: insideGid,
    });
  });
});
