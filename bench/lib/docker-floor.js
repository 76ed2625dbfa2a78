'use strict';
/**
 * The latency benchmark's baselines, on the same image, command, containment
 * flags, bind-mounted job directory and input as a Menagerie job: the floor
 * (the Docker Engine API alone: create, attach, start, wait, remove through
 * dockerode) and plain `docker run`.
 */
const { spawn } = require('node:child_process');
const { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** The engine the benchmark runs (bench/confs/engines.json). */
const ENGINE = 'filemeta';
const IMAGE = 'menagerie/filemeta:stable';
const UID = '1000';
// The flags Menagerie applies for bench/confs/engines.json: its defaults plus the engine's runflags.
const DOCKER_FLAGS = [
  '--network',
  'none',
  '--read-only',
  '--tmpfs',
  '/tmp:rw,nosuid,nodev,size=64m',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--memory',
  '256m',
  '--memory-swap',
  '256m',
  '--cpus',
  '0.5',
  '--pids-limit',
  '64',
  '--log-driver',
  'none',
  '--user',
  UID,
  // Pinned by Menagerie's default policy (libs/engines/src/policy.ts).
  '--ulimit',
  'memlock=8388608',
  '--ulimit',
  'nice=0',
  '--ulimit',
  'rtprio=0',
];

// The floor: the Engine API alone. Its create options come from Menagerie's own builders (the built libs), so
// the flags are the very ones a job gets; what it leaves out is everything of Menagerie's but the container.
const Docker = require('dockerode');
const { DockerRuntime } = require('@menagerie/runtime');
const { parseRunflags } = require('@menagerie/engines');
const BENCH_ENGINE = JSON.parse(
  readFileSync(join(__dirname, '../confs/engines.json'), 'utf8')
    .replace(/{{uid}}/g, UID)
    .replace(/{{regserver}}/g, 'menagerie'),
).engines[0];
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let floorOptions; // set in main: needs the image id

async function floorSetup() {
  const image = await docker.getImage(IMAGE).inspect();
  const runtime = new DockerRuntime({ docker, deployment: 'menagerie-bench-floor' });
  const policy = parseRunflags(BENCH_ENGINE.runflags, [], { user: String(BENCH_ENGINE.user) });
  floorOptions = (hostDir) =>
    runtime.createOptions({
      jobId: 'floor',
      engine: ENGINE,
      image: { id: image.Id, digest: image.Id },
      cmd: [BENCH_ENGINE.cmd],
      user: String(BENCH_ENGINE.user),
      env: [`MENAGERIE_INPUT=${BENCH_ENGINE.inputfilename}`],
      mountpoint: BENCH_ENGINE.mountpoint,
      hostDir,
      policy,
      timeoutMs: 0,
      logLimitBytes: 0,
    });
}

/** A job directory with the input in it, owned by the engine's user, as both baselines get it. */
function jobDir(file, prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'input'), readFileSync(file));
  chownSync(dir, Number(UID), Number(UID));
  chownSync(join(dir, 'input'), Number(UID), Number(UID));
  return dir;
}

/** One run on the Engine API alone: create, attach (the output read to its end), start, wait, remove. */
async function floorRun(file) {
  const dir = jobDir(file, 'menagerie-bench-floor-');
  const started = performance.now();
  const container = await docker.createContainer(floorOptions(dir));
  const output = await container.attach({ stream: true, stdout: true, stderr: true });
  const drained = new Promise((resolve) => output.on('end', resolve).on('close', resolve).resume());
  await container.start();
  const { StatusCode } = await container.wait();
  await drained;
  await container.remove({ force: true, v: true });
  if (StatusCode !== 0) throw new Error(`floor run exited ${StatusCode}`);
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  return { ms };
}

function dockerRun(file) {
  const dir = jobDir(file, 'menagerie-bench-run-');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(
      'docker',
      [
        'run',
        '--rm',
        ...DOCKER_FLAGS,
        '-v',
        `${dir}:/var/data`,
        '-e',
        'MENAGERIE_MOUNTPOINT=/var/data',
        '-e',
        'MENAGERIE_INPUT=input',
        IMAGE,
        '/engine/run.sh',
      ],
      { stdio: 'ignore' },
    );
    p.on('exit', (code) => {
      const ms = performance.now() - started;
      rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve({ ms });
      else reject(new Error(`docker run exited ${code}`));
    });
  });
}

module.exports = { ENGINE, floorSetup, floorRun, dockerRun };
