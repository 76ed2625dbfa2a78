import { CommanderError } from 'commander';
import { describeError, EXIT, exitCodeOf } from './errors';
import { buildProgram, type Io } from './program';

/**
 * Runs the command line and answers its exit code. Every failure is one
 * line on stderr, `menagerie: CODE: message`: the server's JSON errors as
 * the server put them, a connection that failed naming the URL. Never a stack.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    // Commander has written its own line (or the help) already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    io.stderr.write(`menagerie: ${describeError(err)}\n`);
    return exitCodeOf(err);
  }
}

export function main(argv: string[] = process.argv): void {
  // `menagerie jobs | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
    throw err;
  });
  run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`menagerie: ${describeError(err)}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}

if (require.main === module) main();
