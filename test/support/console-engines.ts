import { writeShippedEnginesFile } from './engines-file';

/** The browser specs' engines.json files: the shipped engines as they are, with each spec's test engines on the filemeta image. */

/**
 * For test/browser/console.spec.ts: `echo` returns its input as the result (so
 * a test picks the result's kind), `sleepy` runs until cancelled.
 */
export function consoleEnginesFile(): string {
  return writeShippedEnginesFile('menagerie-console-engines-', [
    {
      name: 'echo',
      workers: 2,
      image: '{{regserver}}/filemeta:stable',
      runflags: [],
      cmd: ['sh', '-c', 'cat /var/data/input > /var/data/result && echo "echo-engine: copied $(wc -c < /var/data/input) bytes"'],
      mountpoint: '/var/data',
      sizelimit: 50_000_000,
      inputfilename: 'input',
      user: '{{uid}}',
      timeout: 60,
    },
    {
      name: 'sleepy',
      workers: 1,
      image: '{{regserver}}/filemeta:stable',
      runflags: [],
      cmd: ['sh', '-c', 'echo sleeping; sleep 120'],
      mountpoint: '/var/data',
      sizelimit: 1_000_000,
      inputfilename: 'input',
      user: '{{uid}}',
      timeout: 150,
    },
  ]);
}

/**
 * For test/browser/submissions.spec.ts: two engines that accept text files
 * only, `textonly` (never run there) and `sleepy`, which runs until cancelled.
 * Neither takes an APK, so `auto` on one leaves them out.
 */
export function submissionEnginesFile(): string {
  const textonly = {
    name: 'textonly',
    workers: 1,
    image: '{{regserver}}/filemeta:stable',
    runflags: [],
    cmd: '/engine/run.sh',
    mountpoint: '/var/data',
    sizelimit: 50_000_000,
    inputfilename: 'input',
    user: '{{uid}}',
    timeout: 60,
    accepts: '^text/',
  };
  const sleepy = { ...textonly, name: 'sleepy', cmd: ['sh', '-c', 'echo sleeping; sleep 120'], timeout: 150 };
  return writeShippedEnginesFile('menagerie-submission-engines-', [textonly, sleepy]);
}
