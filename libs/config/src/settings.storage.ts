import { z } from 'zod';

export const storageSettings = z
  .object({
    /**
     * Where inputs, results and engine logs are kept. "fs": under `dir`, on
     * this machine (or a shared filesystem). "s3": in an S3-compatible
     * service (`s3`), which any number of API and worker nodes share.
     */
    kind: z.enum(['fs', 's3']).default('fs'),
    /** Relative paths are resolved against the directory of default.json. */
    dir: z.string().min(1).default('../data'),
    s3: z
      .object({
        endpoint: z.string().default(''),
        region: z.string().min(1).default('us-east-1'),
        bucket: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
          .default('menagerie'),
        accessKeyId: z.string().default(''),
        secretAccessKey: z.string().default(''),
        /** Bucket-in-path addressing, which most S3-compatible services (SeaweedFS among them) want. */
        forcePathStyle: z.boolean().default(true),
        /**
         * Files larger than 256 KiB go up in 5 MiB parts, each from a buffer: at most this
         * many buffers per process at once (16: 80 MiB), whatever the clients do. A put that
         * finds none free within 10 s is answered 503 UPLOADS_BUSY.
         */
        partBuffers: z.number().int().min(1).default(16),
      })
      .strict()
      .prefault({}),
    /**
     * "loop": each job directory is a filesystem of its own, jobDirLimitBytes big
     * (a sparse ext4 image, loop-mounted), so the kernel enforces the limit; the
     * worker needs root and loop devices, and refuses to start without them.
     * "plain": a directory whose size the worker walks, which an engine can get
     * past (a file it unlinked but keeps open, empty files and directories).
     */
    jobDirFilesystem: z.enum(['loop', 'plain']).default('loop'),
    /**
     * With "loop": how many job directory images a node keeps formatted ahead, so that
     * a job only mounts one. Each holds the filesystem's metadata, about 0.06% of
     * jobDirLimitBytes on disk; 0 formats each job's own.
     */
    spareJobDirs: z.number().int().min(0).max(64).default(4),
  })
  .strict()
  .prefault({});
