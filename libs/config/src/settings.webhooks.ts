import { z } from 'zod';
import { WEBHOOK_EVENTS } from '@menagerie/core';

/** An http(s) URL, kept as written (a trailing "/" of a prefix matters). */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/**
 * Signed webhooks (docs/api.md, Webhooks): every deployment-wide target hears
 * the events it lists, for every job; a `callback=<url>` on an upload or
 * a submission hears that job's (or submission's) events, when it starts
 * with one of `callbackAllow`.
 */
export const webhookSettings = z
  .object({
    targets: z
      .array(
        z
          .object({
            url: httpUrl,
            /** The HMAC-SHA256 key of its X-Menagerie-Signature. */
            secret: z.string().min(16, 'a webhook secret must be at least 16 characters'),
            events: z
              .array(z.enum(WEBHOOK_EVENTS))
              .min(1)
              .default([...WEBHOOK_EVENTS]),
          })
          .strict(),
      )
      .default([])
      .refine((targets) => new Set(targets.map((t) => t.url)).size === targets.length, 'each target URL may be listed once'),
    /** URL prefixes a callback must start with (scheme, host and port exactly; then the path). Empty: callbacks are refused. */
    callbackAllow: z.array(httpUrl).default([]),
    /** Signs every callback delivery; required when callbackAllow is not empty. */
    callbackSecret: z.string().default(''),
    /**
     * URL prefixes (of callbacks) allowed to resolve to a loopback, private,
     * link-local or unique-local address; by default none is.
     */
    allowPrivate: z.array(httpUrl).default([]),
    retry: z
      .object({
        /** The first retry's delay; each next one doubles it. */
        initialSeconds: z.number().positive().default(1),
        maxIntervalSeconds: z.number().positive().default(600),
        /** After this long, a delivery not yet answered 2xx is given up and recorded failed. */
        giveUpSeconds: z.number().positive().default(86_400),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
  .refine((w) => w.callbackAllow.length === 0 || w.callbackSecret.length >= 16, {
    message: 'callbackSecret (at least 16 characters) is needed to sign callbacks when callbackAllow is set',
    path: ['callbackSecret'],
  });
