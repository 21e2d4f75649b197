// Step constructors: one per step kind, ids `<unit>:<kind>[:<object id>]`, a summary line for the
// Temporal UI. A Unit is one instance update (or one cleanup); all its edges stay inside it.
import { TAG, type Allocation, type Server, type Volume } from '../domain/cloud';
import { encodeSpecTag, PLAN_TAG, type SpecRecord } from './spec-tag';
import type {
  AssociateStep,
  Claim,
  CreateVmStep,
  DeleteDiskStep,
  DeleteServerStep,
  DetachDiskStep,
  ReleaseQuotaStep,
  Step,
} from './types';

export class Unit {
  readonly steps: Step[] = [];
  constructor(
    /** Unit and instance name: `<group>/<uuid>`, `orphan/<server id>` or `stray/<id>`. */
    readonly name: string,
    /** The group whose update policy schedules the unit ('' for cleanup). */
    readonly group: string,
    readonly reasons: readonly string[],
  ) {}

  private base<K extends Step['kind']>(
    kind: K,
    object: string | null,
    dependsOn: (string | null)[],
    destructive: boolean,
    summary: string,
  ) {
    return {
      id: object === null ? `${this.name}:${kind}` : `${this.name}:${kind}:${object}`,
      kind,
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: dependsOn.filter((d): d is string => d !== null).sort(),
      reasons: [...this.reasons],
      destructive,
      summary,
    };
  }

  private add<S extends Step>(step: S): string {
    this.steps.push(step);
    return step.id;
  }

  createVm(args: {
    deployment: string;
    operationId: string;
    pool: string;
    claim: Claim;
    instanceId: string;
    spec: SpecRecord;
    dependsOn: (string | null)[];
  }): string {
    const { claim } = args;
    const primary = claim.networks[0];
    const step: CreateVmStep = {
      ...this.base(
        'create-vm',
        null,
        args.dependsOn,
        false,
        `create-vm ${claim.id} ${claim.az} ${claim.vmType.name} ${claim.stemcell.os}/${claim.stemcell.version}`,
      ),
      claim: claim.id,
      instanceId: args.instanceId,
      pool: args.pool,
      quota: { cpus: claim.vmType.cpus, memory_mb: claim.vmType.memory_mb, instances: 1 },
      spec: {
        name: `${args.deployment}-${claim.group}-${claim.index}`,
        cpus: claim.vmType.cpus,
        memory_mb: claim.vmType.memory_mb,
        disk_gb: claim.vmType.disk_gb,
        image: { os: claim.stemcell.os, version: claim.stemcell.version },
        az: claim.az,
        network: primary?.name ?? '',
        static_ip: primary?.staticIp ?? null,
        tags: {
          [TAG.deployment]: args.deployment,
          [TAG.group]: claim.group,
          [TAG.index]: String(claim.index),
          [TAG.claim]: claim.id,
          [TAG.fingerprint]: claim.fingerprint,
          [TAG.operation]: args.operationId,
          [PLAN_TAG.spec]: encodeSpecTag(args.spec),
        },
        user_data: null,
      },
    };
    return this.add(step);
  }

  associate(args: {
    claim: Claim;
    instanceId: string;
    createStep: string;
    dependsOn: (string | null)[];
  }): string {
    const step: AssociateStep = {
      ...this.base(
        'associate-vm-to-instance',
        null,
        args.dependsOn,
        false,
        `associate-vm-to-instance ${args.claim.id} → ${this.name}`,
      ),
      claim: args.claim.id,
      instanceId: args.instanceId,
      createStep: args.createStep,
      disk: args.claim.persistentDisk,
    };
    return this.add(step);
  }

  detachDisk(volume: Volume, serverId: string, dependsOn: (string | null)[]): string {
    const step: DetachDiskStep = {
      ...this.base('detach-disk', volume.id, dependsOn, false, `detach-disk ${volume.id} from ${serverId}`),
      volumeId: volume.id,
      serverId,
    };
    return this.add(step);
  }

  deleteServer(
    server: Server,
    dependsOn: (string | null)[],
    destructive: boolean,
    reasons?: readonly string[],
  ): string {
    const step: DeleteServerStep = {
      ...this.base(
        'delete-server',
        server.id,
        dependsOn,
        destructive,
        `delete-server ${server.id} ${server.tags[TAG.claim] ?? this.name}`,
      ),
      serverId: server.id,
    };
    if (reasons) step.reasons = [...reasons];
    return this.add(step);
  }

  releaseQuota(
    allocation: Allocation,
    serverId: string | null,
    dependsOn: (string | null)[],
    reasons?: readonly string[],
  ): string {
    const step: ReleaseQuotaStep = {
      ...this.base(
        'release-quota',
        allocation.id,
        dependsOn,
        false,
        `release-quota ${allocation.id} (${allocation.cpus} cpus, ${allocation.memory_mb} MB)`,
      ),
      allocationId: allocation.id,
      serverId,
      quota: { cpus: allocation.cpus, memory_mb: allocation.memory_mb, instances: allocation.instances },
    };
    if (reasons) step.reasons = [...reasons];
    return this.add(step);
  }

  deleteDisk(volume: Volume, dependsOn: (string | null)[], reasons?: readonly string[]): string {
    const step: DeleteDiskStep = {
      ...this.base(
        'delete-disk',
        volume.id,
        dependsOn,
        true,
        `delete-disk ${volume.id} (${volume.size_gb} GiB)`,
      ),
      volumeId: volume.id,
    };
    if (reasons) step.reasons = [...reasons];
    return this.add(step);
  }
}
