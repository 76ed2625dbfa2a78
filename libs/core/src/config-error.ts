export interface ConfigIssue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

/**
 * A configuration file that can't be used. The message names the file, and
 * for each problem the engine (when there is one) and the field.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }

  static fromIssues(file: string, issues: readonly ConfigIssue[], data: unknown): ConfigError {
    return new ConfigError(
      file,
      issues.map((issue) => `${describePath(issue.path, data)}: ${issue.message}`),
    );
  }
}

/** `engines[1] (apktool).timeout` rather than `engines.1.timeout`. */
function describePath(path: ReadonlyArray<PropertyKey>, data: unknown): string {
  if (path.length === 0) return '(file)';
  let node: unknown = data;
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      node = Array.isArray(node) ? node[key] : undefined;
      const name = node && typeof node === 'object' ? (node as { name?: unknown }).name : undefined;
      if (typeof name === 'string') out += ` (${name})`;
    } else {
      out += `${out ? '.' : ''}${String(key)}`;
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[String(key)] : undefined;
    }
  }
  return out;
}
