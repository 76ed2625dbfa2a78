import { z } from 'zod';
import { storageSettings } from './settings.storage';
import { webhookSettings } from './settings.webhooks';

const port = z.number().int().min(1).max(65535);
/** 0 asks the OS for a free port (tests use it). */
const listenPort = z.number().int().min(0).max(65535);
const url = z.url().transform((u) => u.replace(/\/+$/, ''));

export const settingsSchema = z
  .object({
    api: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: listenPort.default(8100),
        publicUrl: url.default('http://localhost:8100'),
        /** An upload that sends no data for this long is given up on: answered 408 UPLOAD_TIMEOUT, its partial file removed. */
        uploadIdleSeconds: z.number().positive().default(30),
        /**
         * An upload that sends less than this, averaged over each uploadIdleSeconds, is
         * given up on (408 UPLOAD_TIMEOUT): a client that trickles bytes can't hold the
         * server's buffers. 0: no minimum.
         */
        minUploadBytesPerSecond: z.number().int().min(0).default(1024),
        /**
         * How often the API checks the jobs that should have an open workflow
         * against Temporal: one whose workflow closed without recording its
         * status (terminated, timed out) or that Temporal does not know ends
         * within about this, with the reason.
         */
        reconcileSeconds: z.number().positive().default(10),
        /**
         * The proxies in front of the API (addresses, CIDR ranges, or
         * "loopback", "linklocal", "uniquelocal", as Express's "trust proxy"
         * takes them): only a request from one of them has its client address
         * taken from X-Forwarded-For. Empty: the peer's address, whatever the
         * request claims.
         */
        trustedProxies: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        uiUrl: url.default('http://localhost:8233'),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(5432),
        user: z.string().min(1).default('menagerie'),
        password: z.string().default('menagerie'),
        database: z.string().min(1).default('menagerie'),
      })
      .strict()
      .prefault({}),
    storage: storageSettings,
    /**
     * This worker process as a node: the name its jobs record, where it makes
     * their scratch directories, and which engines it serves.
     */
    node: z
      .object({
        /** Default: the host name. Unique per node: a node sweeps what carries its name. */
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, ".", "_" or "-" (at most 63)')
          .optional(),
        /** Job scratch directories (and their volumes). Default: storage.dir. Relative to default.json's directory. */
        scratchDir: z.string().min(1).optional(),
        /** The engines this node serves. Default: every engine whose image its Docker daemon has, or can pull. */
        engines: z.array(z.string()).optional(),
        /** How often the node reports itself (its engines, image digests, running jobs) to the database. */
        reportSeconds: z.number().positive().default(10),
        /**
         * How often the node checks whether an engine's image now resolves to another
         * digest (a retag or rebuild), and reports it at once if so: the API's result
         * cache trusts the reported digest. 0 leaves it to the report.
         */
        digestCheckSeconds: z.number().min(0).default(1),
        /** How often the node sweeps its own leftovers (containers and scratch directories no run of it owns); it also does at boot. */
        sweepSeconds: z.number().positive().default(300),
      })
      .strict()
      .prefault({}),
    docker: z
      .object({
        socketPath: z.string().min(1).default('/var/run/docker.sock'),
        /**
         * A daemon run with --userns-remap: the host uid and gid of its containers'
         * root and how many ids it maps. Null: learnt from the daemon (docker info)
         * and the host's /etc/subuid and /etc/subgid; set it where the worker cannot
         * read those (it runs in a container). Checked against the daemon at the first job.
         */
        usernsRemap: z
          .object({
            uid: z.number().int().min(1),
            gid: z.number().int().min(1),
            size: z.number().int().min(1).default(65536),
          })
          .strict()
          .nullable()
          .default(null),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /** When set, every request but GET /health needs one of these keys. */
        apiKeys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).default([]),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        /** Requests per minute per API key, when keys are set; 0 turns it off. */
        perMinute: z.number().int().min(0).default(600),
        /**
         * Requests per minute per client address that present no key or a wrong
         * one, when keys are set (each answered 401, past this 429); 0 turns it
         * off. The address is the peer's, or behind api.trustedProxies the one
         * they forward.
         */
        unauthenticatedPerMinute: z.number().int().min(0).default(60),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics (docs/configuration.md, Metrics): GET /metrics on the API, and on each worker on a port of its own. */
    metrics: z
      .object({
        /**
         * When set, GET /metrics (API and workers) needs "Authorization: Bearer <token>",
         * and only that: no API key. Empty: open, like GET /health.
         */
        token: z.union([z.literal(''), z.string().min(16, 'a metrics token must be at least 16 characters')]).default(''),
        /** Where a worker serves its metrics. */
        workerHost: z.string().min(1).default('0.0.0.0'),
        /** The worker's metrics port; 0 lets the OS choose one (the worker logs it); null turns the worker's endpoint off. */
        workerPort: listenPort.nullable().default(9464),
        /**
         * The Temporal SDK's own worker metrics (its Prometheus exporter, on workerHost),
         * served by the SDK on this port; 0 turns them off. Only workers use it.
         */
        temporalPort: listenPort.default(0),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        /** Files of jobs that ended longer ago than this are removed; rows stay, marked expired. */
        days: z.number().positive().default(30),
        /** How often the retention Schedule runs, as a Temporal duration ("1 hour", "15m"). */
        every: z
          .string()
          .regex(/^\d+\s*(s|m|h|d|seconds?|minutes?|hours?|days?)$/, 'must be a duration such as "1 hour" or "15m"')
          .default('1 hour'),
      })
      .strict()
      .prefault({}),
    /**
     * The result cache: a completed job's result is served again, without a
     * container, to an upload of the same bytes to the same engine with the
     * same effective specification (image digest, cmd, user, runflags,
     * mountpoint, inputfilename, timeout), for `ttl` seconds after it ran.
     * An engine's `cachettl` in engines.json overrides it; 0 turns it off.
     */
    cache: z
      .object({
        ttl: z.number().int().min(0).default(86_400),
      })
      .strict()
      .prefault({}),
    webhooks: webhookSettings,
    /**
     * The private registry engine images come from. Enabled, each job asks it
     * what the engine's tag is now and pulls what this node lacks (a version
     * pushed under the same tag runs at the next job; `image@sha256:...` pins
     * one); an image present here keeps working while it is down. Disabled, a
     * job whose image is missing fails at once with "image not found".
     */
    registry: z
      .object({
        enabled: z.boolean().default(false),
        /** host[:port], for credentials; the image reference itself names the registry. */
        address: z.string().default(''),
        username: z.string().default(''),
        password: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /**
     * Names this deployment. Its job containers are labelled with it and the
     * Temporal namespace, and it sweeps only containers carrying both, so
     * deployments sharing a Docker daemon never touch each other's jobs.
     */
    deployment: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, ".", "_" or "-" (at most 63)')
      .default('menagerie'),
    /** Replaces {{regserver}} in engines.json. */
    regserver: z.string().default(''),
    /** Replaces {{uid}} in engines.json: the user engines run as. */
    uid: z.number().int().min(1).default(1000),
    /** Runflags weaker than the default containment that engines may use: `--flag` (any value) or `--flag=value` (docs/security.md, Runflags). */
    allowRunflags: z.array(z.string()).default([]),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    /** How many bytes of an engine's stdout+stderr are kept. */
    logLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** What an engine may write into its job directory (input included) before it is killed. */
    jobDirLimitBytes: z
      .number()
      .int()
      .positive()
      .default(2 * 1024 ** 3),
    /** Largest result file an engine may hand back. */
    resultLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 ** 3),
    /** How much of the log /result shows. */
    logTailBytes: z.number().int().positive().default(4096),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
