/**
 * The file name a result is saved under: from Content-Disposition (RFC 6266:
 * `filename*=UTF-8''…` wins over the ASCII `filename="…"`), reduced to a bare
 * name so that a server can never make the CLI write outside the directory
 * it runs in.
 */
export function filenameFrom(contentDisposition: string | null): string | null {
  if (!contentDisposition) return null;
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^']*)'[^']*'([^;]*)/i.exec(contentDisposition);
  if (extended && /^utf-8$/i.test(extended[1].trim())) {
    try {
      const name = safeName(decodeURIComponent(extended[2].trim()));
      if (name) return name;
    } catch {
      // a malformed escape: fall back to the plain parameter
    }
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(contentDisposition);
  if (quoted) return safeName(quoted[1].replace(/\\(.)/g, '$1'));
  const token = /(?:^|;)\s*filename\s*=\s*([^;\s]+)/i.exec(contentDisposition);
  return token ? safeName(token[1]) : null;
}

/**
 * The last path segment, without control characters; null if nothing usable
 * is left (".", "..", empty). A leading dot is prefixed ("_.npmrc"): a name
 * the server chose never becomes a hidden file (a shell's rc, an .npmrc) in
 * the directory the CLI runs in.
 */
export function safeName(name: string): string | null {
  const base = name
    .split(/[/\\]/)
    .pop()!
    .replace(/[\x00-\x1f\x7f]/g, '')
    .trim();
  if (!base || base === '.' || base === '..') return null;
  return base.startsWith('.') ? `_${base}` : base;
}
