import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { descriptorsBesides, rawUploadHead, type Raw } from './raw-http';
import { storedOf, type StoredView } from './stored';
import type { System } from './system';
import { until } from './until';

/**
 * What a refused or broken upload may leave behind on a test system, for
 * test/e2e/upload-errors.spec.ts: job rows, stored files, workflows, open
 * connections and descriptors.
 */
export interface UploadLeftovers {
  /** Hands a client request or socket over, to be closed after the test even when it failed or timed out. */
  track<T extends ClientRequest | Socket>(client: T): T;
  /** The system's store, whichever it is. */
  stored(): StoredView;
  /** No job row, nothing in the store, and no workflow but those of earlier tests. */
  expectNothingStored(): Promise<void>;
}

/**
 * Made for a describe block on the system `system()` gives: after each test it
 * closes what the test tracked, and clears whatever the test left, failed or not
 * (a row, a workflow, a partial upload), so that it can't fail the tests after it.
 */
export function useUploadLeftovers(system: () => System): UploadLeftovers {
  const open = new Set<ClientRequest | Socket>();
  /** Workflows of earlier tests: terminated, but still listed. */
  const earlier = new Set<string>();
  const stored = () => storedOf(system().config);
  async function workflowIds(): Promise<string[]> {
    const ids = [];
    for await (const wf of system().env.client.workflow.list()) ids.push(wf.workflowId);
    return ids;
  }

  afterEach(async () => {
    for (const client of open) client.destroy();
    open.clear();
    const sys = system();
    if (!sys.env) return;
    const rows: Array<{ id: string }> = await sys.db.query('SELECT id FROM jobs');
    for (const { id } of rows) {
      earlier.add(`job-${id}`);
      await sys.env.client.workflow
        .getHandle(`job-${id}`)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await sys.db.query('DELETE FROM jobs');
    await stored().clear();
    for (const id of await workflowIds().catch(() => [])) earlier.add(id);
  });

  return {
    track(client) {
      open.add(client);
      client.once('close', () => open.delete(client));
      return client;
    },
    stored,
    async expectNothingStored() {
      const rows = await system().db.query('SELECT count(*)::int AS n FROM jobs');
      expect(rows[0].n).toBe(0);
      expect(await stored().ids()).toEqual([]);
      expect((await workflowIds()).filter((id) => !earlier.has(id))).toEqual([]);
    },
  };
}

/** What an upload that ends early is sent with and checked by (useEarlyEnds). */
export interface EarlyEnds {
  /** Opens a connection to the API and sends the head of an upload to `path`. */
  rawUpload(headers: Record<string, string | number>): Promise<Raw>;
  /**
   * Resolves once the API has started writing the upload to the store: a
   * partial file shows at once in a directory; an S3 multipart upload shows
   * only past its first part, so there, once the bytes are all on the wire.
   */
  uploadStored(raw: Raw): Promise<unknown>;
  /** Resolves once the API has closed the connection, with what it answered. */
  closedByApi(raw: Raw): Promise<string>;
  /** The partial upload is removed, the API's descriptors are back to what they were before the test, and no job row was made. */
  expectReleased(): Promise<void>;
}

/**
 * For a describe block whose uploads to `path` end early, each on a raw socket
 * so that exactly the case's bytes are on the wire. The API runs in this
 * process, so /proc/self/fd counts its descriptors (see descriptorsBesides):
 * the count before each test is its baseline.
 */
export function useEarlyEnds(system: () => System, leftovers: UploadLeftovers, path: string): EarlyEnds {
  const fds = () => descriptorsBesides(Number(new URL(system().baseUrl).port));
  let baseline = 0;
  beforeEach(() => {
    baseline = fds();
  });
  return {
    rawUpload: (headers) => rawUploadHead(system().baseUrl, path, headers, leftovers.track),
    uploadStored: (raw) =>
      system().config.settings.storage.kind === 'fs'
        ? until('the upload reaches the store', async () => (await leftovers.stored().ids()).length > 0, 10_000, 20)
        : until('the upload is on the wire', async () => raw.socket.writableLength === 0, 10_000, 20),
    async closedByApi(raw) {
      await until('the API closes the connection', async () => raw.socket.closed, 10_000, 20);
      return raw.answer;
    },
    async expectReleased() {
      await until('the partial upload is removed', async () => (await leftovers.stored().ids()).length === 0, 10_000, 50);
      await until(`the API's descriptors are back to ${baseline}`, async () => fds() <= baseline, 10_000, 50);
      const rows = await system().db.query('SELECT count(*)::int AS n FROM jobs');
      expect(rows[0].n).toBe(0);
    },
  };
}
