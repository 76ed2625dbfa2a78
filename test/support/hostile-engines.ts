import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The hostile engines of test/e2e/hostile.spec.ts (a fork bomb, a memory hog,
 * floods, disk fillers, escapes), what they are held to, and how to see what
 * a job left mounted.
 */

/**
 * python3-minimal has no json module: a tiny encoder for the engines' findings
 * (bool, int, str, list, dict; anything unusual in a string is \u-escaped).
 */
export const PY_JSON = `
import os
def enc(v):
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, int): return str(v)
    if isinstance(v, str): return '"' + ''.join(c if (c.isalnum() and ord(c) < 128) or c in ' .,:;_-/()[]<>=+' else '\\\\u%04x' % ord(c) for c in v) + '"'
    if isinstance(v, (list, tuple)): return '[' + ','.join(enc(x) for x in v) + ']'
    if isinstance(v, dict): return '{' + ','.join(enc(str(k)) + ':' + enc(x) for k, x in v.items()) + '}'
    return enc(repr(v))
def write_result(v):
    path = os.environ['MENAGERIE_MOUNTPOINT'] + '/result'
    with open(path + '.partial', 'w') as f: f.write(enc(v))
    os.rename(path + '.partial', path)
`;

/** A name no host path should already carry, for the write-outside-the-job-dir engine. */
export const STRAY = `menagerie-hostile-${randomUUID().slice(0, 8)}`;
export const STRAY_DIRS = ['/etc', '/', '/usr', '/var', '/tmp', '/var/data'];
export const strayPath = (dir: string) => (dir === '/' ? `/${STRAY}` : `${dir}/${STRAY}`);

export const FLOOD_BYTES = 300_000_000;
/** What the unlinked-file engine writes at most, if nothing stops it sooner: far past the job directory's limit. */
export const HIDDEN_BYTES = 512 * 1024 ** 2;
/** More entries than a job directory of DISK_LIMIT may hold. */
export const EMPTY_ENTRIES = 200_000;

export const ENGINES = [
  { name: 'normal', cmd: ['sh', '-c', 'echo normal; printf \'{"ok":true}\' > "$MENAGERIE_MOUNTPOINT/result"'] },
  {
    name: 'forkbomb',
    // The bomb keeps forking until the pids limit stops it; PID 1 then holds on until the timeout.
    cmd: ['sh', '-c', 'echo bombing; f(){ f | f & }; f; exec sleep 600'],
    runflags: ['--pids-limit', '32'],
    timeout: 30,
  },
  {
    name: 'memhog',
    cmd: [
      'python3',
      '-c',
      'print("allocating", flush=True)\nchunks = [bytearray(1 << 20) for _ in range(512)]\nprint("survived", len(chunks))',
    ],
    runflags: ['--memory', '64m'],
  },
  {
    name: 'network',
    cmd: [
      'python3',
      '-c',
      `${PY_JSON}
import socket
out = {}
try:
    s = socket.create_connection(('1.1.1.1', 53), timeout=3)
    s.close()
    out['tcp'] = {'ok': True}
except Exception as e:
    out['tcp'] = {'ok': False, 'error': type(e).__name__ + ': ' + str(e)}
try:
    out['dns'] = {'ok': True, 'address': socket.gethostbyname('example.com')}
except Exception as e:
    out['dns'] = {'ok': False, 'error': type(e).__name__ + ': ' + str(e)}
out['interfaces'] = sorted(os.listdir('/sys/class/net'))
print(out, flush=True)
write_result(out)
`,
    ],
  },
  { name: 'cpuloop', cmd: ['sh', '-c', 'echo "looping now"; while :; do :; done'], timeout: 3 },
  {
    name: 'flood',
    cmd: [
      'sh',
      '-c',
      `echo flood-start; yes menagerie-flood | head -c ${FLOOD_BYTES}; echo; echo flood-end; printf '{"flooded":true}' > "$MENAGERIE_MOUNTPOINT/result"`,
    ],
    timeout: 120,
  },
  {
    name: 'garbage',
    // NUL and bytes that aren't UTF-8 in the output: PostgreSQL text refuses NUL, so the log tail must survive that.
    cmd: ['sh', '-c', 'printf "before\\000after\\377\\376\\n"; echo "bad input" >&2; exit 3'],
  },
  {
    name: 'diskfill',
    cmd: [
      'sh',
      '-c',
      'echo filling; head -c 2000000000 /dev/zero > "$MENAGERIE_MOUNTPOINT/fill"; echo "{}" > "$MENAGERIE_MOUNTPOINT/result"',
    ],
    timeout: 120,
  },
  {
    name: 'hidden',
    // Writes to a file it has unlinked, which no directory walk sees, then holds it open until stopped.
    cmd: [
      'python3',
      '-c',
      `
import os, time
path = os.environ['MENAGERIE_MOUNTPOINT'] + '/hidden'
f = open(path, 'wb', buffering=0)
os.unlink(path)
chunk = bytes(1 << 20)
written = 0
try:
    while written < ${HIDDEN_BYTES}:
        written += f.write(chunk)
    print('wrote', written, flush=True)
except OSError as e:
    print('stopped writing at', written, e, flush=True)
while True:
    time.sleep(1)
`,
    ],
    timeout: 40,
  },
  {
    name: 'emptyfiles',
    // Empty files and directories hold no bytes a walk counts; the engine gives up at the first refusal.
    cmd: [
      'python3',
      '-c',
      `${PY_JSON}
import sys
d = os.environ['MENAGERIE_MOUNTPOINT']
try:
    for n in range(${EMPTY_ENTRIES}):
        if n % 2:
            os.mkdir(d + '/d%d' % n)
        else:
            open(d + '/f%d' % n, 'w').close()
except OSError as e:
    print('refused at', n, e, flush=True)
    sys.exit(1)
write_result({'made': ${EMPTY_ENTRIES}})
`,
    ],
    timeout: 120,
  },
  { name: 'symlink', cmd: ['sh', '-c', 'ln -s /etc/passwd "$MENAGERIE_MOUNTPOINT/result"; echo linked'] },
  {
    name: 'writer',
    cmd: [
      'python3',
      '-c',
      `${PY_JSON}
name = ${JSON.stringify(STRAY)}
out = {}
for d in ${JSON.stringify(STRAY_DIRS)}:
    path = ('/' + name) if d == '/' else (d + '/' + name)
    try:
        with open(path, 'w') as f: f.write('hostile')
        out[path] = True
    except OSError as e:
        out[path] = False
print(out, flush=True)
write_result(out)
`,
    ],
  },
  {
    name: 'escalate',
    cmd: [
      'python3',
      '-c',
      `${PY_JSON}
import subprocess
out = {'uid': subprocess.check_output(['id', '-u']).decode().strip(), 'euid': os.geteuid()}
for line in subprocess.check_output(['sh', '-c', 'cat /proc/self/status | grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs)"']).decode().splitlines():
    k, v = line.split(':', 1)
    out[k] = v.strip()
try:
    os.setuid(0)
    out['setuid0'] = True
except OSError as e:
    out['setuid0'] = False
try:
    os.chroot('/tmp')
    out['chroot'] = True
except OSError:
    out['chroot'] = False
print(out, flush=True)
write_result(out)
`,
    ],
  },
];

export const DISK_LIMIT = 64 * 1024 ** 2;
/** What the host's disk may give beyond DISK_LIMIT while a job runs: the input, the log, the volume's own bookkeeping. */
export const DISK_MARGIN = 32 * 1024 ** 2;
export const DISK_LIMIT_ERROR = new RegExp(
  `^engine filled its job directory to its limit of ${DISK_LIMIT} bytes \\(jobDirLimitBytes\\)( and was killed)?$`,
);

/** Mounts, and loop devices backed by a file, under `root`: none may outlive its job. */
export function mountsUnder(root: string): string[] {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point): point is string => point !== undefined && point.startsWith(root));
  const loops = readdirSync('/sys/block')
    .filter((dev) => dev.startsWith('loop'))
    .map((dev) => {
      try {
        return readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8').trim();
      } catch {
        return ''; // an unused loop device has no backing file
      }
    })
    .filter((file) => file.startsWith(root));
  return [...mounts, ...loops];
}
