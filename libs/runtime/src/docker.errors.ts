import { RegistryError, RuntimeError, type RegistryProblem } from './container.runtime';

/** How the Docker runtime reads the daemon's errors: the daemon not answering, a registry's refusal, or anything else. */

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'EPIPE', 'ETIMEDOUT']);

/** Says so when the error is the daemon's socket not answering; null for any other error. */
export function unreachable(err: unknown): string | null {
  const e = err as { code?: string; address?: string } | undefined;
  if (!e?.code || !UNREACHABLE.has(e.code)) return null;
  return `the Docker daemon does not answer${e.address ? ` at ${e.address}` : ''} (${e.code}); is dockerd running?`;
}

/** Which registry problem the daemon's answer to a pull or a distribution lookup names. */
export function registryProblem(status: number | undefined, message: string): RegistryProblem {
  if (status === 404 || /manifest unknown|name unknown|not found/i.test(message)) return 'unknown';
  if (status === 401 || status === 403 || /unauthorized|authentication required|no basic auth credentials|denied/i.test(message))
    return 'unauthorized';
  return 'unreachable';
}

/** A failed pull or lookup: this node's daemon not answering (a RuntimeError), else the registry's refusal. */
export function registryFailure(step: 'pull' | 'distribution', ref: string, err: unknown): Error {
  if (unreachable(err)) return new RuntimeError(step, reason(err), err);
  return new RegistryError(registryProblem(statusOf(err), reason(err)), ref, reason(err));
}

export function reason(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string } | undefined;
  return unreachable(err) ?? e?.json?.message ?? e?.message ?? String(err);
}
