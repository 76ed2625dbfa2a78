import type { ContainerCreateOptions } from 'dockerode';
import { DEPLOYMENT_LABEL, ENGINE_LABEL, JOB_LABEL, NODE_LABEL, type RunRequest } from './container.runtime';

/**
 * A data bundle's bind. Docker mounts a `:ro` bind and then has runc
 * remount it read-only, and that remount (runc 1.1) sets only `ro`: the
 * host mount's nosuid, nodev and noexec are dropped in the container (seen
 * in /proc/self/mountinfo there). A bind without `ro` is not remounted at
 * all, so a host directory that is a sealed mount of its own (ro, nosuid,
 * nodev, noexec, checked by the node as it holds it) is bound as it is, with
 * all four. Anything else is bound `ro`: read-only, whatever runc leaves.
 */
export function dataBind(mount: NonNullable<RunRequest['dataMounts']>[number]): string {
  return `${mount.hostDir}:${mount.target}:${mount.sealed ? '' : 'ro,'}rprivate`;
}

/** The container Docker is asked to create for a run: the policy's limits, the job directory, the data bundles, this deployment's labels. */
export function containerOptions(req: RunRequest, deployment: string, node: string | null): ContainerCreateOptions {
  const p = req.policy;
  return {
    Image: req.image.id,
    Cmd: req.cmd,
    User: req.user,
    Env: [...req.env, `MENAGERIE_MOUNTPOINT=${req.mountpoint}`, `MENAGERIE_JOB_ID=${req.jobId}`],
    WorkingDir: p.workdir ?? undefined,
    Labels: {
      [JOB_LABEL]: req.jobId,
      [ENGINE_LABEL]: req.engine,
      [DEPLOYMENT_LABEL]: deployment,
      ...(node ? { [NODE_LABEL]: node } : {}),
    },
    NetworkDisabled: p.network === 'none',
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: [`${req.hostDir}:${req.mountpoint}:rw`, ...(req.dataMounts ?? []).map(dataBind), ...p.binds],
      NetworkMode: p.network,
      CapDrop: p.capDrop,
      CapAdd: p.capAdd,
      SecurityOpt: p.securityOpt,
      ReadonlyRootfs: p.readOnlyRootfs,
      Memory: p.memoryBytes,
      MemorySwap: p.memorySwapBytes ?? p.memoryBytes,
      NanoCpus: p.nanoCpus,
      PidsLimit: p.pidsLimit,
      Tmpfs: p.tmpfs,
      Ulimits: p.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      ShmSize: p.shmSizeBytes ?? undefined,
      Privileged: p.privileged,
      Devices: p.devices.map((d) => {
        const [host, container = host, perms = 'rwm'] = d.split(':');
        return { PathOnHost: host, PathInContainer: container, CgroupPermissions: perms };
      }),
      PidMode: p.pidMode ?? undefined,
      IpcMode: p.ipcMode ?? undefined,
      UsernsMode: p.usernsMode ?? undefined,
      // Output is captured through attach; the daemon keeps no log file an engine could flood.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
    },
  };
}
