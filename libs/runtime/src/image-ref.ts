/**
 * Image references, as Docker reads them: `[registry/]repository[:tag][@digest]`.
 * The registry is the first component when it looks like a host (a dot, a
 * port or `localhost`); otherwise the image is Docker Hub's.
 */
export interface ImageRef {
  /** host[:port], or null for Docker Hub. */
  registry: string | null;
  /** Everything before the tag and digest, registry included: what RepoDigests entries start with. */
  repository: string;
  tag: string | null;
  /** sha256:<hex> when the reference pins one. */
  digest: string | null;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : null;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : null;
  const repository = colon > slash ? named.slice(0, colon) : named;
  const first = repository.split('/')[0];
  const registry = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : null;
  return { registry, repository, tag, digest };
}

/** Whether the reference names one version for good (`@sha256:...`), so no registry need be asked what it is. */
export function isPinned(ref: string): boolean {
  return parseImageRef(ref).digest !== null;
}

/**
 * The registry digest of a local image under the reference's repository,
 * from the image's RepoDigests (`repo@sha256:...`). An image pushed to
 * several repositories has one per repository; another repository's is not
 * this reference's.
 */
export function repoDigestFor(ref: string, repoDigests: readonly string[] | undefined): string | null {
  const { repository } = parseImageRef(ref);
  const entry = (repoDigests ?? []).find((d) => d.slice(0, d.indexOf('@')) === repository);
  return entry ? entry.slice(entry.indexOf('@') + 1) : null;
}
