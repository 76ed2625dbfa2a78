import type { Request } from 'express';
import busboy from 'busboy';
import { pipeline, type Readable } from 'node:stream';
import { MenagerieError, settledWithin } from '@menagerie/core';
import { TypeTap, type BlobStore, type StoredBlob } from '@menagerie/storage';
import { tooLargeMessage } from '@menagerie/engines';
import { cleanOriginalName } from './original-name';

/** Room for multipart boundaries and headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;
export const UPLOAD_FIELD = 'upload';
const FIELD = UPLOAD_FIELD;

export interface ReceivedFile extends StoredBlob {
  originalName: string;
  /** Detected from the bytes (detectType): what engines' accepts and rejects match. */
  mime: string;
  /** The form's other fields (the last value of each). */
  fields: Record<string, string>;
}

export interface ReceiveLimit {
  /** Bytes the file may have. */
  limit: number;
  /** Whose limit it is, for the message ("engine apktool"). */
  limitOf: string;
}

/** A multipart upload, received into the store: what POST /<engine>/upload and POST /submit share. */
export class UploadReceiver {
  constructor(
    private readonly store: BlobStore,
    private readonly idleSeconds: number,
    /** Below this, averaged over each `idleSeconds` of an upload, it is given up (408): a client that trickles bytes holds no buffer for long. 0: no minimum. */
    private readonly minBytesPerSecond = 0,
  ) {}

  /**
   * Streams the multipart body's one file to the store as `id`'s input,
   * detecting its type on the way; the form's other fields come back too.
   * Any failure removes what was stored, and answers why.
   */
  receive(id: string, req: Request, { limit, limitOf }: ReceiveLimit): Promise<ReceivedFile> {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      throw new MenagerieError(
        'NOT_MULTIPART',
        `send the file as multipart/form-data in a field named "${FIELD}", e.g. curl -F "${FIELD}=@file"`,
      );
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit + MULTIPART_OVERHEAD) {
      throw new MenagerieError('UPLOAD_TOO_LARGE', tooLargeMessage(null, limitOf, limit), { limit });
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 40, headerPairs: 100 },
      });
    } catch (err) {
      throw new MenagerieError('MALFORMED_UPLOAD', `the multipart request could not be read: ${(err as Error).message}`);
    }

    const idleSeconds = this.idleSeconds;

    return new Promise<ReceivedFile>((resolve, reject) => {
      let writing: Promise<StoredBlob> | undefined;
      let originalName = '';
      let tap: TypeTap | undefined;
      const fields: Record<string, string> = {};
      let problem: MenagerieError | undefined;
      let settled = false;

      // A client that stops sending would otherwise hold the partial file and its descriptor for as long as it likes.
      const idle = setTimeout(
        () =>
          void fail(
            new MenagerieError('UPLOAD_TIMEOUT', `no data arrived for ${idleSeconds} s, so the upload was given up; send it again`),
          ),
        idleSeconds * 1000,
      );
      let windowBytes = 0;
      const minimum = this.minBytesPerSecond * idleSeconds;
      const slow =
        minimum > 0
          ? setInterval(() => {
              if (windowBytes < minimum) {
                void fail(
                  new MenagerieError(
                    'UPLOAD_TIMEOUT',
                    `the upload sent ${windowBytes} bytes in ${idleSeconds} s, less than this server's minimum of ${this.minBytesPerSecond} bytes a second (api.minUploadBytesPerSecond), so it was given up; send it again over a faster link`,
                  ),
                );
              }
              windowBytes = 0;
            }, idleSeconds * 1000)
          : null;
      const onData = (chunk: Buffer) => {
        idle.refresh();
        windowBytes += chunk.length;
      };
      const onEnd = () => {
        // The body is all here: what is left is our own work.
        clearTimeout(idle);
        if (slow) clearInterval(slow);
      };
      // However the connection goes (closed, reset, or destroyed by Node over a body longer than its
      // Content-Length), what matters is whether the body's end reached the parser: `req.complete`
      // is already true in the last case, and the parser would wait forever.
      const onGone = () => {
        if (!req.readableEnded) void fail(new MenagerieError('UPLOAD_ABORTED', 'the connection closed before the upload finished'));
      };
      const socket = req.socket;
      const detach = () => {
        clearTimeout(idle);
        if (slow) clearInterval(slow);
        req.off('data', onData).off('end', onEnd).off('close', onGone).off('error', onGone);
        socket.off('close', onGone);
      };

      const fail = async (err: unknown) => {
        if (settled) return;
        settled = true;
        detach();
        req.unpipe(parser);
        parser.removeAllListeners('close');
        // Destroys the file stream too, so the writer stops and closes its descriptor.
        parser.destroy();
        await settledWithin(writing, 5000);
        await this.store.remove(id).catch(() => undefined);
        reject(err);
      };

      parser.on('file', (field: string, stream: Readable, info: busboy.FileInfo) => {
        if (field !== FIELD) {
          problem ??= new MenagerieError('UPLOAD_MISSING', `unexpected file field "${field}"; send the file in a field named "${FIELD}"`);
          stream.resume();
          return;
        }
        originalName = cleanOriginalName(info.filename);
        tap = new TypeTap();
        // The tap ends or breaks with the part: a destroyed part destroys it too, and the store's put sees that.
        writing = this.store.put(
          id,
          'input',
          pipeline(stream, tap, () => undefined),
          limit,
        );
        // The store counts the bytes; the limit is named here, whose it is.
        writing.catch(
          (err) =>
            void fail(
              err instanceof MenagerieError && err.code === 'UPLOAD_TOO_LARGE'
                ? new MenagerieError('UPLOAD_TOO_LARGE', tooLargeMessage(null, limitOf, limit), { limit })
                : err,
            ),
        );
      });
      parser.on('field', (name: string, value: string) => {
        fields[name] = value;
      });
      parser.on('filesLimit', () => {
        problem = new MenagerieError('UPLOAD_TOO_MANY_FILES', `send exactly one file, in the field "${FIELD}"`);
      });
      parser.on(
        'error',
        (err: Error) => void fail(new MenagerieError('MALFORMED_UPLOAD', `the multipart request could not be read: ${err.message}`)),
      );
      parser.on('close', () => {
        void (async () => {
          if (problem) return fail(problem);
          if (!writing) return fail(new MenagerieError('UPLOAD_MISSING', `no file in the field "${FIELD}"; use curl -F "${FIELD}=@file"`));
          const stored = await writing.catch(() => undefined);
          if (!stored || settled) return; // fail() already handled it
          if (stored.size === 0) return fail(new MenagerieError('UPLOAD_EMPTY', 'the uploaded file is empty; there is nothing to analyse'));
          settled = true;
          detach();
          resolve({ ...stored, originalName, mime: tap!.type(), fields });
        })();
      });
      req.on('data', onData).on('end', onEnd).on('close', onGone).on('error', onGone);
      socket.on('close', onGone);
      req.pipe(parser);
      if (socket.destroyed) onGone(); // gone before we listened
    });
  }
}
