import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerRuntime, type DockerRuntimeOptions } from '@menagerie/runtime';
import { tempDir } from '../support/temp-dir';

/** A dockerode client whose `info` answers what a daemon would (the only call userNamespace makes). */
function daemon(info: () => Promise<object>): Docker {
  const docker = new Docker({ socketPath: '/nonexistent.sock' });
  docker.info = jest.fn(info) as unknown as Docker['info'];
  return docker;
}

const REMAPPED = { SecurityOptions: ['name=seccomp,profile=default', 'name=userns'], DockerRootDir: '/srv/docker/100000.100000' };
const PLAIN = { SecurityOptions: ['name=seccomp,profile=default'], DockerRootDir: '/var/lib/docker' };

function runtime(info: () => Promise<object>, options: Partial<DockerRuntimeOptions> = {}) {
  const dir = tempDir('menagerie-subid-');
  const subordinateIds = { uid: join(dir, 'subuid'), gid: join(dir, 'subgid') };
  writeFileSync(subordinateIds.uid, 'alice:165536:65536\ndockremap:100000:65536\n');
  writeFileSync(subordinateIds.gid, 'alice:165536:65536\ndockremap:100000:30000\n');
  const docker = daemon(info);
  return { docker, rt: new DockerRuntime({ docker, deployment: 'test', subordinateIds, ...options }) };
}

describe('DockerRuntime.userNamespace', () => {
  it('is null on a daemon that does not remap', async () => {
    expect(await runtime(async () => PLAIN).rt.userNamespace()).toBeNull();
  });

  it("learns a remapped daemon's ids from docker info and the subordinate id files, asking the daemon once", async () => {
    const { rt, docker } = runtime(async () => REMAPPED);
    expect(await rt.userNamespace()).toEqual({ uid: 100000, gid: 100000, size: 30000 });
    expect(await rt.userNamespace()).toEqual({ uid: 100000, gid: 100000, size: 30000 });
    expect(docker.info).toHaveBeenCalledTimes(1);
  });

  it('asks again after a failure (the daemon was down)', async () => {
    let up = false;
    const { rt } = runtime(async () => {
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return REMAPPED;
    });
    await expect(rt.userNamespace()).rejects.toThrow(/docker info: the Docker daemon does not answer/);
    up = true;
    expect(await rt.userNamespace()).toMatchObject({ uid: 100000 });
  });

  it('says to set docker.usernsRemap when no subordinate range starts at the remapped root', async () => {
    const { rt } = runtime(async () => ({ ...REMAPPED, DockerRootDir: '/srv/docker/300000.300000' }));
    await expect(rt.userNamespace()).rejects.toThrow(/has no range that starts there; set docker.usernsRemap/);
  });

  it('takes docker.usernsRemap when it agrees with the daemon, and refuses it when it does not, or when the daemon does not remap', async () => {
    const set = { usernsRemap: { uid: 100000, gid: 100000, size: 65536 } };
    expect(await runtime(async () => REMAPPED, set).rt.userNamespace()).toEqual({ uid: 100000, gid: 100000, size: 65536 });
    await expect(runtime(async () => ({ ...REMAPPED, DockerRootDir: '/d/231072.231072' }), set).rt.userNamespace()).rejects.toThrow(
      /docker.usernsRemap says container root is host 100000:100000, but the Docker daemon maps it to 231072:231072/,
    );
    await expect(runtime(async () => PLAIN, set).rt.userNamespace()).rejects.toThrow(/does not remap user namespaces/);
  });
});
