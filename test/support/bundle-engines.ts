import type { TestEngine } from './engines-file';

/** The engines test/e2e/data-bundles.spec.ts and data-cli.spec.ts push bundles to, on the filemeta image. */

/**
 * Reads its rules bundle and says what it saw: each file and its content,
 * then the options of the /rules mount as the kernel shows them in the
 * container, then whether it could write there.
 */
const SEES = [
  'cd /rules',
  'out="$MENAGERIE_MOUNTPOINT/result.partial"',
  'find . -type f | sort | while read -r f; do echo "$f: $(cat "$f")"; done > "$out"',
  `echo "mount: $(awk '$5 == "/rules" { print $6 }' /proc/self/mountinfo)" >> "$out"`,
  '(echo x > /rules/written) 2>/dev/null && echo "wrote: yes" >> "$out" || echo "wrote: no" >> "$out"',
  'mv "$out" "$MENAGERIE_MOUNTPOINT/result"',
].join('\n');

/** Refuses a bundle holding a file named BAD, with that file's content as its message. */
const CHECK = 'if [ -e /rules/BAD ]; then cat /rules/BAD >&2; exit 1; fi; echo "ok: $(find /rules -type f | wc -l) files"';

export const RULES: TestEngine = {
  name: 'rules',
  cmd: ['/bin/sh', '-c', SEES],
  cachettl: 3600,
  data: { rules: '/rules' },
  datacheck: ['/bin/sh', '-c', CHECK],
};
/** The same engine, with no check of its own: every bundle is taken as it is. */
export const UNCHECKED: TestEngine = { ...RULES, name: 'unchecked', datacheck: undefined };
/** An engine whose image no node has: no node serves it. */
export const NOWHERE: TestEngine = { ...RULES, name: 'nowhere', image: 'menagerie/no-such-image:1' };
