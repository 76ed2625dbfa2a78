import { request, type ClientRequest } from 'node:http';

/** Uploads whose multipart body (boundary XYZ) a test writes itself, for test/e2e/upload-errors.spec.ts; raw-http.ts has them on a socket. */

/** The multipart Content-Type these bodies go with. */
export const MULTIPART_XYZ = 'multipart/form-data; boundary=XYZ';

/** The parts of an upload that ends early: the file part's head, the closing boundary, and a megabyte of body. */
export const CUT = {
  HEAD: Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="cut.apk"\r\n\r\n'),
  TAIL: Buffer.from('\r\n--XYZ--\r\n'),
  MB: Buffer.alloc(1_000_000, 1),
};

/** POSTs `body`, a multipart form the test wrote byte for byte, to `url`. */
export function postMultipart(url: string, body: Buffer): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': MULTIPART_XYZ } });
}

export interface ChunkedUpload {
  /** What each write sends. */
  chunk: Buffer;
  /** How many bytes of the file it sends at the most. */
  stopAt: number;
  /**
   * Stop writing and close the request as soon as the API answers; and when it has not answered
   * by `stopAt`, stop rather than write on into the store, and resolve with status 0. Otherwise it
   * writes on until `stopAt` or until the connection is closed, and waits for the answer.
   */
  stopOnAnswer: boolean;
}

/**
 * POSTs an upload of one file `filename` to `url`, chunked, so no Content-Length gives its size
 * away: a limit must hold while it streams. The request goes to `track` at once, to be closed
 * after the test. Resolves with the answer's status and the bytes sent by then.
 */
export function sendChunked(
  url: string,
  filename: string,
  track: (req: ClientRequest) => ClientRequest,
  { chunk, stopAt, stopOnAnswer }: ChunkedUpload,
): Promise<{ status: number; bytesSent: number }> {
  let sent = 0;
  return new Promise((resolve, reject) => {
    const req = track(request(url, { method: 'POST', headers: { 'content-type': MULTIPART_XYZ, 'transfer-encoding': 'chunked' } }));
    let done = false;
    req.on('response', (res) => {
      resolve({ status: res.statusCode!, bytesSent: sent });
      if (!stopOnAnswer) return;
      done = true;
      req.destroy();
    });
    req.on('error', (err) => (done ? undefined : reject(err)));
    req.write(`--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="${filename}"\r\n\r\n`);
    const pump = () => {
      while (!done && !req.destroyed && sent < stopAt) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (stopOnAnswer && !done && sent >= stopAt) {
        // No answer by now: the limit did not hold. Stop rather than write gigabytes into the store.
        done = true;
        resolve({ status: 0, bytesSent: sent });
        req.destroy();
      }
    };
    pump();
  });
}
