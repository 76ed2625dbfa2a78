import type Docker from 'dockerode';
import { DEPLOYMENT_LABEL } from '@menagerie/runtime';
import type { System } from './system';

/** The job containers a deployment created between two moments (ms), from the daemon's event log. */
export async function containersCreated(docker: Docker, deployment: string, since: number, untilMs: number): Promise<number> {
  const stream = (await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(untilMs / 1000) + 1,
    filters: JSON.stringify({ type: ['container'], event: ['create'], label: [`${DEPLOYMENT_LABEL}=${deployment}`] }),
  })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  // The daemon's window is in whole seconds: the events' own nanoseconds decide.
  const events = text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { timeNano: number });
  return events.filter((e) => e.timeNano >= since * 1e6 && e.timeNano <= untilMs * 1e6).length;
}

/** Runs `step` and answers it with the number of job containers the test system `sys` created meanwhile. */
export async function countingContainers<T>(sys: System, step: () => Promise<T>): Promise<{ value: T; containers: number }> {
  const since = Date.now();
  const value = await step();
  return { value, containers: await containersCreated(sys.docker, sys.deployment, since, Date.now()) };
}
