import { parseRunflags, RunflagError } from '@menagerie/engines';

/** The RunflagError parseRunflags throws for `runflags`, or null when it takes them. */
export function refusal(runflags: string[], allowed: string[] = []): RunflagError | null {
  try {
    parseRunflags(runflags, allowed);
    return null;
  } catch (err) {
    if (!(err instanceof RunflagError)) throw err;
    return err;
  }
}

/** An engines.json of one engine, apktool, with this "user" (as JSON) and these runflags. */
export function engineJson(user: string, runflags: string[] = []): string {
  const engine = {
    name: 'apktool',
    workers: 1,
    image: 'apktool:1',
    runflags,
    cmd: '/run.sh',
    mountpoint: '/var/data',
    sizelimit: 1000,
    inputfilename: 'in',
    timeout: 10,
  };
  return `{"engines": [${JSON.stringify(engine).replace(/}$/, `, "user": ${user}}`)}]}`;
}

export const vars = { regserver: '', uid: 1000 };
