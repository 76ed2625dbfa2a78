import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JOB_STATUSES } from '@menagerie/core';
import { ApiClient } from './client';
import { cancel } from './commands/cancel';
import { dataList, dataPush } from './commands/data';
import { fetchResult, type FetchOptions } from './commands/fetch';
import { engines, jobs, type JobsOptions } from './commands/lists';
import { report } from './commands/report';
import { status } from './commands/status';
import { submit, type SubmitOptions } from './commands/submit';
import type { Context } from './context';
import { DEFAULT_CONCURRENCY, DEFAULT_URL, integerOption, MAX_CONCURRENCY, resolveConnection, type GlobalOptions } from './options';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The command line. Each action answers its exit code through `done`; an
 * error thrown by an action leaves parseAsync and is shown as one line by main.
 */
export function buildProgram(io: Io, done: (code: number) => void): Command {
  const program = new Command('menagerie')
    .description('The Menagerie API from a terminal: submit files to engines, follow jobs, fetch results.')
    .version(version(), '-V, --version')
    .addOption(new Option('--url <url>', `the API (env MENAGERIE_URL; default ${DEFAULT_URL})`))
    .addOption(new Option('--api-key <key>', 'sent as X-API-Key (env MENAGERIE_API_KEY)'))
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .showHelpAfterError('(menagerie --help lists the commands)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`menagerie: USAGE: ${s.replace(/^error: /, '')}`),
    });

  const context = (cmd: Command): Context => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    return {
      client: new ApiClient(resolveConnection(globals, io.env), io.fetch),
      json: globals.json === true,
      stdout: io.stdout,
      stderr: io.stderr,
    };
  };

  program
    .command('submit')
    .description(
      'upload files to one engine (--engine), or to several or auto (--engines) as submissions; ' +
        'a directory submits every regular file under it, recursively (links inside it are not followed)',
    )
    .argument('<paths...>', 'files and directories')
    .option('-e, --engine <engine>', 'one engine: POST /<engine>/upload')
    .option('--engines <list>', 'several engines, a,b,c, or auto: POST /submit')
    .option('-w, --wait', 'follow every job to its end; exit 1 unless all completed')
    .option('-f, --force', 'run the engines whatever the result cache holds')
    .option(
      '-c, --concurrency <n>',
      `uploads (and waits) at once, 1 to ${MAX_CONCURRENCY}`,
      integerOption('--concurrency', 1, MAX_CONCURRENCY),
      DEFAULT_CONCURRENCY,
    )
    .action(async (paths: string[], options: SubmitOptions, cmd: Command) => done(await submit(context(cmd), paths, options)));

  program
    .command('status')
    .description('a job, or a submission: GET /result/<id>, else /submission/<id>')
    .argument('<id>')
    .action(async (id: string, _: unknown, cmd: Command) => done(await status(context(cmd), id)));

  program
    .command('fetch')
    .description("save a job's result (GET /link/<id>) under the name the API gives, in this directory")
    .argument('<id>', 'a job id')
    .option('-o, --output <file>', 'save it here instead; - for stdout')
    .option('-f, --force', 'overwrite a file of the same name')
    .action(async (id: string, options: FetchOptions, cmd: Command) => done(await fetchResult(context(cmd), id, options)));

  program
    .command('report')
    .description("a job's report (GET /report/<id>): its summary, verdict, sections, tags and extracted files")
    .argument('<id>', 'a job id')
    .action(async (id: string, _: unknown, cmd: Command) => done(await report(context(cmd), id)));

  program
    .command('jobs')
    .description('the job history, newest first (GET /jobs)')
    .option('-e, --engine <engine>')
    .addOption(new Option('-s, --status <status>').choices(JOB_STATUSES))
    .option('--sha256 <hash>', "the input's sha256")
    .option('-t, --tag <type:value>', 'jobs whose report has this tag, such as yara.rule:Office_AutoOpen')
    .option('-n, --limit <n>', 'jobs on the page, 1 to 100', integerOption('--limit', 1, 100))
    .option('--cursor <cursor>', 'the page an earlier answer pointed to (its "older: --cursor ...")')
    .action(async (options: JobsOptions, cmd: Command) => done(await jobs(context(cmd), options)));

  program
    .command('engines')
    .description('the engines, whether a node serves each, and their queues (GET /engines)')
    .action(async (_: unknown, cmd: Command) => done(await engines(context(cmd))));

  program
    .command('cancel')
    .description('cancel a queued or running job (DELETE /jobs/<id>), or every live job of a submission')
    .argument('<id>')
    .action(async (id: string, _: unknown, cmd: Command) => done(await cancel(context(cmd), id)));

  const data = program.command('data').description("an engine's data bundles (rules, signatures): push a version, list them");
  data
    .command('push')
    .description(
      "pack a directory (regular files and directories only) and push it as a version of an engine's bundle " +
        "(POST /engines/<engine>/data/<bundle>); exit 1 with the engine's message when its check refuses it",
    )
    .argument('<engine>')
    .argument('<bundle>', 'a bundle the engine declares, such as rules')
    .argument('<dir>')
    .action(async (engine: string, bundle: string, dir: string, _: unknown, cmd: Command) =>
      done(await dataPush(context(cmd), engine, bundle, dir)),
    );
  data
    .command('list')
    .description('each bundle of an engine: its current version and the ones before it (GET /engines/<engine>/data)')
    .argument('<engine>')
    .action(async (engine: string, _: unknown, cmd: Command) => done(await dataList(context(cmd), engine)));

  return program;
}
