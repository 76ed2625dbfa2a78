import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** HTTP at the byte level, for uploads that end early, stall or break the protocol (test/e2e/upload-errors.spec.ts). */

export interface Raw {
  socket: Socket;
  /** Everything the API sent, once the connection is closed. */
  answer: Promise<string>;
}

/**
 * Opens a connection to the API at `baseUrl` (handing the socket to `track` at
 * once, to be closed after the test) and sends the head of a multipart upload
 * (boundary XYZ, Connection: close) to `path`, with `headers`.
 */
export async function rawUploadHead(
  baseUrl: string,
  path: string,
  headers: Record<string, string | number>,
  track: (socket: Socket) => Socket,
): Promise<Raw> {
  const url = new URL(baseUrl);
  const socket = track(connect(Number(url.port), url.hostname));
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined); // a reset is one of the cases
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const answer = new Promise<string>((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1'))));
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${url.host}`,
    'Content-Type: multipart/form-data; boundary=XYZ',
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  return { socket, answer };
}

/** The status and JSON body of an answer read off the wire. */
export function parseAnswer(raw: string): { status: number; head: string; body: Record<string, unknown> } {
  const [head, rest] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head, body: JSON.parse(rest) as Record<string, unknown> };
}

/**
 * How many descriptors this process holds, leaving out sockets other than those
 * on `port` (either end): what an upload to an API on that port could leak is
 * its files (the partial input on the fs store) and the connection it came on.
 * Connections to PostgreSQL, S3 and Temporal are not counted: their pools open
 * and close sockets with the background loops and keep idle ones alive,
 * whatever the upload did.
 */
export function descriptorsBesides(port: number): number {
  const apiPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const onApi = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(apiPort) || cols[2]?.endsWith(apiPort)) onApi.add(cols[9]);
    }
  }
  return readdirSync('/proc/self/fd').filter((fd) => {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return false; // the directory listing's own descriptor, gone by now
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    return inode ? onApi.has(inode) : true;
  }).length;
}
