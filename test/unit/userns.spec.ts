import { hostUser, remappedRoot, subordinateRange } from '@menagerie/core';

describe("hostUser: who owns an engine's job directory on the host", () => {
  const ns = { uid: 100000, gid: 100000, size: 65536 };

  it('is the engine user itself (its gid defaulting to its uid) on a daemon that does not remap', () => {
    expect(hostUser('1000', null)).toBe('1000:1000');
    expect(hostUser('1000:1001', null)).toBe('1000:1001');
  });

  it('is the remapped ids on a daemon run with --userns-remap: container id n is the range start + n', () => {
    expect(hostUser('1000', ns)).toBe('101000:101000');
    expect(hostUser('1000:50', { uid: 100000, gid: 300000, size: 65536 })).toBe('101000:300050');
    expect(hostUser('0', ns)).toBe('100000:100000');
    expect(hostUser('65535', ns)).toBe('165535:165535');
  });

  it("refuses an id past the mapped range (another user's ids may be there), naming it", () => {
    expect(() => hostUser('65536', ns)).toThrow(/uid 65536 is outside the 65536 ids/);
    expect(() => hostUser('1000:70000', ns)).toThrow(/gid 70000 is outside/);
  });

  it('leaves a user given by name as it is', () => {
    expect(hostUser('nobody', ns)).toBe('nobody');
    expect(hostUser('1000:staff', null)).toBe('1000:staff');
  });
});

describe('what a remapped Docker daemon tells', () => {
  it("reads the host ids of containers' root from its root directory, <data-root>/<uid>.<gid>", () => {
    expect(remappedRoot('/var/lib/docker/100000.100000')).toEqual({ uid: 100000, gid: 100000 });
    expect(remappedRoot('/tmp/x/data/231072.231073/')).toEqual({ uid: 231072, gid: 231073 });
    expect(remappedRoot('/var/lib/docker')).toBeNull();
    expect(remappedRoot('/var/lib/docker-1.2')).toBeNull();
  });

  it('finds the length of the subordinate range that starts at an id', () => {
    const file = 'alice:165536:65536\ndockremap:100000:65536\n\nbob:231072:1000\n';
    expect(subordinateRange(file, 100000)).toBe(65536);
    expect(subordinateRange(file, 231072)).toBe(1000);
    expect(subordinateRange(file, 100001)).toBeNull();
    expect(subordinateRange('', 100000)).toBeNull();
  });
});
