import { isPinned, parseImageRef, registryProblem, repoDigestFor } from '@menagerie/runtime';

const D = 'sha256:' + 'a'.repeat(64);

describe('image references', () => {
  it.each([
    ['menagerie/filemeta:stable', { registry: null, repository: 'menagerie/filemeta', tag: 'stable', digest: null }],
    [
      '172.17.0.1:5000/menagerie/filemeta:stable',
      { registry: '172.17.0.1:5000', repository: '172.17.0.1:5000/menagerie/filemeta', tag: 'stable', digest: null },
    ],
    [
      `172.17.0.1:5000/menagerie/filemeta@${D}`,
      { registry: '172.17.0.1:5000', repository: '172.17.0.1:5000/menagerie/filemeta', tag: null, digest: D },
    ],
    [
      `registry.example.org/filemeta:1@${D}`,
      { registry: 'registry.example.org', repository: 'registry.example.org/filemeta', tag: '1', digest: D },
    ],
    ['localhost/filemeta', { registry: 'localhost', repository: 'localhost/filemeta', tag: null, digest: null }],
    ['filemeta', { registry: null, repository: 'filemeta', tag: null, digest: null }],
  ])('reads %s', (ref, parsed) => {
    expect(parseImageRef(ref)).toEqual(parsed);
    expect(isPinned(ref)).toBe(parsed.digest !== null);
  });

  it("finds the registry digest of the reference's own repository among an image's RepoDigests", () => {
    const digests = [`menagerie/filemeta@sha256:${'1'.repeat(64)}`, `172.17.0.1:5000/menagerie/filemeta@${D}`];
    expect(repoDigestFor('172.17.0.1:5000/menagerie/filemeta:stable', digests)).toBe(D);
    expect(repoDigestFor('menagerie/filemeta:stable', digests)).toBe(`sha256:${'1'.repeat(64)}`);
    // Pushed elsewhere only: not this reference's digest (the image id stands in for it).
    expect(repoDigestFor('menagerie/filemeta:stable', [`172.17.0.1:5000/menagerie/filemeta@${D}`])).toBeNull();
    expect(repoDigestFor('menagerie/filemeta:stable', undefined)).toBeNull();
  });

  it.each([
    [401, 'unauthorized: authentication required', 'unauthorized'],
    [500, 'Head "https://172.17.0.1:5000/v2/menagerie/filemeta/manifests/stable": no basic auth credentials', 'unauthorized'],
    [404, 'manifest unknown: manifest unknown', 'unknown'],
    [500, 'manifest for 172.17.0.1:5000/menagerie/filemeta:nope not found: manifest unknown: manifest unknown', 'unknown'],
    [500, 'Get "https://172.17.0.1:5056/v2/": dial tcp 172.17.0.1:5056: connect: connection refused', 'unreachable'],
    [
      500,
      'Get "https://172.17.0.1:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'unreachable',
    ],
  ])("names the problem of the daemon's answer %s %s", (status, message, problem) => {
    expect(registryProblem(status, message)).toBe(problem);
  });
});
