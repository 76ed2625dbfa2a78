import type { LoggerService } from '@nestjs/common';
import type { Response } from 'express';
import { pipeline, type Readable } from 'node:stream';

/** The client went away mid-download: nothing to report. */
function hungUp(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE';
}

/**
 * Sends a stored file's stream as the body. pipeline, not pipe: when the
 * client hangs up mid-download the file stream is destroyed, which closes
 * the file (pipe would leave it open, paused, for good); a read error ends
 * the response, so the client sees a cut body, never a short "complete" one.
 */
export function streamTo(res: Response, stream: Readable, logger: LoggerService, context: Record<string, unknown>, what: string): void {
  // HEAD answers the headers only: reading the file for a body nobody gets is work for nothing.
  if (res.req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  pipeline(stream, res, (err) => {
    if (err && !hungUp(err)) logger.error({ err, ...context }, `could not read ${what}`);
  });
}
