import { z } from 'zod';

/** Engine names appear in URLs and are Temporal task queue names. */
const ENGINE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** A data bundle's name: `menagerie data push <engine> <bundle> <dir>`. */
export const BUNDLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** Names the API's own routes use at the top level; an engine can't take them. */
export const RESERVED_ENGINE_NAMES = [
  'result',
  'link',
  'report',
  'jobs',
  'engines',
  'health',
  'console',
  'docs',
  'api',
  'submit',
  'submission',
  'submissions',
];

/** A regular expression on the detected MIME type (`accepts`, `rejects`); checked to compile when the file is read. */
const mimePattern = z
  .string()
  .min(1)
  .max(1000)
  .refine((source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression (matched against the detected MIME type, such as "^application/zip$")');

export const engineSchema = z
  .object({
    name: z
      .string()
      .regex(ENGINE_NAME, 'must be lower-case letters, digits, "-" or "_" (at most 63)')
      .refine((n) => !RESERVED_ENGINE_NAMES.includes(n), 'is reserved for an API route'),
    workers: z.number().int().min(1).max(64),
    image: z
      .string()
      .min(1)
      .regex(/^[^\s]+$/, 'must be an image reference without spaces'),
    runflags: z.array(z.string()).default([]),
    cmd: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    mountpoint: z
      .string()
      .regex(/^\/[^\0]*$/, 'must be an absolute path')
      .refine((p) => p !== '/' && !p.split('/').includes('..'), 'must be a directory other than / without ".."'),
    sizelimit: z.number().int().positive(),
    inputfilename: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^/\0]+$/, 'must be a plain file name')
      .refine((n) => n !== '.' && n !== '..' && n !== 'result', 'must be a plain file name other than "result"'),
    user: z.union([z.string().min(1), z.number().int().min(0)]).transform(String),
    timeout: z.number().positive(),
    /**
     * Optional, beyond the original format (which ignores them). `cachettl`: seconds a
     * completed result may be served again for the same input and effective spec
     * (default: `cache.ttl` in default.json; 0 turns the cache off for this engine).
     * `accepts` / `rejects`: which detected MIME types the engine takes (case-insensitive).
     */
    cachettl: z.number().int().min(0).optional(),
    accepts: mimePattern.optional(),
    rejects: mimePattern.optional(),
    /**
     * The engine's data bundles (rules, signatures) and where each is mounted,
     * read-only: `{"rules": "/rules"}`. An operator pushes a bundle with
     * `menagerie data push <engine> <bundle> <dir>`.
     */
    data: z
      .record(
        z.string().regex(BUNDLE_NAME, 'must be a bundle name: lower-case letters, digits, "-" or "_" (at most 32)'),
        z
          .string()
          .regex(/^\/[^\0]*$/, 'must be an absolute path')
          .refine((p) => p !== '/' && !p.split('/').includes('..'), 'must be a directory other than / without ".."'),
      )
      .optional(),
    /**
     * The engine's own check of a pushed bundle: run in its image with the
     * bundle mounted (and no input), exit 0 to accept it; anything else refuses
     * the push with the check's output. Without it, every bundle is accepted.
     */
    datacheck: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  })
  .strict()
  .superRefine((engine, ctx) => {
    if (engine.datacheck && !engine.data)
      ctx.addIssue({ code: 'custom', path: ['datacheck'], message: 'needs a data field: the bundles it checks' });
    const inside = (a: string, b: string) => a === b || a.startsWith(b.endsWith('/') ? b : `${b}/`);
    for (const [bundle, target] of Object.entries(engine.data ?? {})) {
      if (inside(target, engine.mountpoint) || inside(engine.mountpoint, target))
        ctx.addIssue({
          code: 'custom',
          path: ['data', bundle],
          message: `must not be inside the mountpoint ${engine.mountpoint}, or hold it`,
        });
    }
  });

export const enginesFileSchema = z
  .object({ engines: z.array(engineSchema) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.engines.forEach((engine, index) => {
      if (seen.has(engine.name)) {
        ctx.addIssue({ code: 'custom', path: ['engines', index, 'name'], message: `duplicate engine name "${engine.name}"` });
      }
      seen.add(engine.name);
    });
  });

export type EngineConfig = z.infer<typeof engineSchema>;
