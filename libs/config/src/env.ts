/**
 * The only place that reads process.env. Each variable overrides one field
 * of default.json; values are parsed explicitly (no truthy-string surprises).
 */
export interface EnvOverrides {
  confDir?: string;
  enginesFile?: string;
  defaultsFile?: string;
  patch: Record<string, unknown>;
}

type Kind = 'string' | 'int' | 'list' | 'bool';
const VARS: Array<[string, string[], Kind]> = [
  ['MENAGERIE_API_HOST', ['api', 'host'], 'string'],
  ['MENAGERIE_API_PORT', ['api', 'port'], 'int'],
  ['MENAGERIE_PUBLIC_URL', ['api', 'publicUrl'], 'string'],
  ['TEMPORAL_ADDRESS', ['temporal', 'address'], 'string'],
  ['TEMPORAL_NAMESPACE', ['temporal', 'namespace'], 'string'],
  ['TEMPORAL_UI_URL', ['temporal', 'uiUrl'], 'string'],
  ['MENAGERIE_DB_HOST', ['database', 'host'], 'string'],
  ['MENAGERIE_DB_PORT', ['database', 'port'], 'int'],
  ['MENAGERIE_DB_USER', ['database', 'user'], 'string'],
  ['MENAGERIE_DB_PASSWORD', ['database', 'password'], 'string'],
  ['MENAGERIE_DB_NAME', ['database', 'database'], 'string'],
  ['MENAGERIE_STORAGE_KIND', ['storage', 'kind'], 'string'],
  ['MENAGERIE_STORAGE_DIR', ['storage', 'dir'], 'string'],
  ['MENAGERIE_S3_ENDPOINT', ['storage', 's3', 'endpoint'], 'string'],
  ['MENAGERIE_S3_REGION', ['storage', 's3', 'region'], 'string'],
  ['MENAGERIE_S3_BUCKET', ['storage', 's3', 'bucket'], 'string'],
  ['MENAGERIE_S3_ACCESS_KEY', ['storage', 's3', 'accessKeyId'], 'string'],
  ['MENAGERIE_S3_SECRET_KEY', ['storage', 's3', 'secretAccessKey'], 'string'],
  ['MENAGERIE_S3_FORCE_PATH_STYLE', ['storage', 's3', 'forcePathStyle'], 'bool'],
  ['MENAGERIE_NODE_NAME', ['node', 'name'], 'string'],
  ['MENAGERIE_SCRATCH_DIR', ['node', 'scratchDir'], 'string'],
  ['MENAGERIE_NODE_ENGINES', ['node', 'engines'], 'list'],
  ['DOCKER_SOCKET', ['docker', 'socketPath'], 'string'],
  ['MENAGERIE_DEPLOYMENT', ['deployment'], 'string'],
  ['MENAGERIE_REGSERVER', ['regserver'], 'string'],
  ['MENAGERIE_REGISTRY_ENABLED', ['registry', 'enabled'], 'bool'],
  ['MENAGERIE_REGISTRY_ADDRESS', ['registry', 'address'], 'string'],
  ['MENAGERIE_REGISTRY_USERNAME', ['registry', 'username'], 'string'],
  ['MENAGERIE_REGISTRY_PASSWORD', ['registry', 'password'], 'string'],
  ['MENAGERIE_UID', ['uid'], 'int'],
  ['LOG_LEVEL', ['logLevel'], 'string'],
  ['MENAGERIE_API_KEYS', ['auth', 'apiKeys'], 'list'],
  ['MENAGERIE_RATE_LIMIT', ['rateLimit', 'perMinute'], 'int'],
  ['MENAGERIE_TRUSTED_PROXIES', ['api', 'trustedProxies'], 'list'],
  ['MENAGERIE_METRICS_TOKEN', ['metrics', 'token'], 'string'],
  ['MENAGERIE_METRICS_WORKER_PORT', ['metrics', 'workerPort'], 'int'],
  ['MENAGERIE_METRICS_TEMPORAL_PORT', ['metrics', 'temporalPort'], 'int'],
];

/** Every variable readEnv reads; test/unit/compose.spec.ts checks docker-compose.yml against it. */
export const ENV_VARS: readonly string[] = VARS.map((v) => v[0]).concat([
  'MENAGERIE_CONF_DIR',
  'MENAGERIE_ENGINES_FILE',
  'MENAGERIE_DEFAULTS_FILE',
]);

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvOverrides {
  const patch: Record<string, unknown> = {};
  for (const [name, path, kind] of VARS) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value =
      kind === 'list'
        ? raw
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : kind === 'int' && /^\d+$/.test(raw)
          ? Number(raw)
          : kind === 'bool' && (raw === 'true' || raw === 'false')
            ? raw === 'true'
            : raw;
    let node = patch;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = value;
  }
  return {
    confDir: env.MENAGERIE_CONF_DIR || undefined,
    enginesFile: env.MENAGERIE_ENGINES_FILE || undefined,
    defaultsFile: env.MENAGERIE_DEFAULTS_FILE || undefined,
    patch,
  };
}
