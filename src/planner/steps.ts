// Step constructors: one per step kind, ids `<unit>:<kind>[:<object id>]`, a summary line for the
// Temporal UI. A Unit is one instance update (or one cleanup); all its edges stay inside it.
//
// Performance note: each step is written as one object literal with every field, never as
// `{...base, more}`. Spreading gives (in V8) nearly every object its own hidden class, which made
// reading a field of 50k steps ~10× slower. Ids are built with join() for flat strings.
import { TAG, type Allocation, type Server, type Volume } from '../domain/cloud';
import { PLAN_TAG } from './spec-tag';
import type {
  AssociateStep,
  Claim,
  CreateVmStep,
  DeleteDiskStep,
  DeleteServerStep,
  DetachDiskStep,
  PowerKind,
  PowerStep,
  ReleaseQuotaStep,
  Step,
  VmSpec,
} from './types';

type Deps = readonly (string | null)[];

function deps(list: Deps): string[] {
  const kept = list.filter((d): d is string => d !== null);
  return kept.length < 2 ? kept : kept.sort();
}

export class Unit {
  readonly steps: Step[] = [];
  constructor(
    /** Unit and instance name: `<group>/<uuid>`, `orphan/<server id>` or `stray/<id>`. */
    readonly name: string,
    /** The group whose update policy schedules the unit ('' for cleanup). */
    readonly group: string,
    /** Shared by the unit's steps: reasons are read, never written, after planning. */
    readonly reasons: string[],
  ) {}

  private id(kind: Step['kind'], object: string | null): string {
    return object === null ? [this.name, kind].join(':') : [this.name, kind, object].join(':');
  }

  private add(step: Step): string {
    this.steps.push(step);
    return step.id;
  }

  createVm(args: {
    deployment: string;
    operationId: string;
    pool: string;
    claim: Claim;
    instanceId: string;
    /** The `converge.spec` tag (see spec-tag.ts). */
    specTag: string;
    dependsOn: Deps;
  }): string {
    const { claim } = args;
    const primary = claim.networks[0];
    const { cpus, memory_mb, disk_gb } = claim.vmType;
    const step: CreateVmStep = {
      id: this.id('create-vm', null),
      kind: 'create-vm',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(args.dependsOn),
      reasons: this.reasons,
      destructive: false,
      summary: `create-vm ${claim.id} ${claim.az} ${claim.vmType.name} ${claim.stemcell.os}/${claim.stemcell.version}`,
      claim: claim.id,
      instanceId: args.instanceId,
      pool: args.pool,
      quota: { cpus, memory_mb, instances: 1 },
      spec: {
        name: [args.deployment, claim.group, claim.index].join('-'),
        cpus,
        memory_mb,
        disk_gb,
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
          [PLAN_TAG.spec]: args.specTag,
        },
        user_data: null,
        ...addressing(claim),
        ...cloudProperties(claim),
      },
    };
    return this.add(step);
  }

  associate(args: {
    claim: Claim;
    instanceId: string;
    createStep: string | null;
    /** cck reattach-disk: the instance's own VM, associated again (no create step). */
    existingServer?: string;
    dependsOn: Deps;
    /** hot_swap: the disk this associate takes from the old VM. */
    moves?: { volumeId: string; from: string };
  }): string {
    const step: AssociateStep = {
      id: this.id('associate-vm-to-instance', null),
      kind: 'associate-vm-to-instance',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(args.dependsOn),
      reasons: this.reasons,
      destructive: false,
      summary:
        `associate-vm-to-instance ${args.existingServer ?? args.claim.id} → ${this.name}` +
        (args.moves ? ` (moves disk ${args.moves.volumeId} from ${args.moves.from})` : '') +
        (args.existingServer ? ' (reattaches its disk)' : ''),
      claim: args.claim.id,
      instanceId: args.instanceId,
      createStep: args.createStep,
      disk: args.claim.persistentDisk,
      ...(args.moves ? { movesDisk: args.moves } : {}),
      ...(args.existingServer ? { existingServer: args.existingServer } : {}),
    };
    return this.add(step);
  }

  detachDisk(volume: Volume, serverId: string, dependsOn: Deps): string {
    const step: DetachDiskStep = {
      id: this.id('detach-disk', volume.id),
      kind: 'detach-disk',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(dependsOn),
      reasons: this.reasons,
      destructive: false,
      summary: `detach-disk ${volume.id} from ${serverId}`,
      volumeId: volume.id,
      serverId,
    };
    return this.add(step);
  }

  deleteServer(
    server: Server,
    dependsOn: Deps,
    destructive: boolean,
    reasons: string[] = this.reasons,
  ): string {
    const step: DeleteServerStep = {
      id: this.id('delete-server', server.id),
      kind: 'delete-server',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(dependsOn),
      reasons,
      destructive,
      summary: `delete-server ${server.id} ${server.tags[TAG.claim] ?? this.name}`,
      serverId: server.id,
    };
    return this.add(step);
  }

  releaseQuota(
    allocation: Allocation,
    serverId: string | null,
    dependsOn: Deps,
    reasons: string[] = this.reasons,
  ): string {
    const step: ReleaseQuotaStep = {
      id: this.id('release-quota', allocation.id),
      kind: 'release-quota',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(dependsOn),
      reasons,
      destructive: false,
      summary: `release-quota ${allocation.id} (${allocation.cpus} cpus, ${allocation.memory_mb} MB)`,
      allocationId: allocation.id,
      serverId,
      quota: { cpus: allocation.cpus, memory_mb: allocation.memory_mb, instances: allocation.instances },
    };
    return this.add(step);
  }

  deleteDisk(volume: Volume, dependsOn: Deps, reasons: string[] = this.reasons): string {
    const step: DeleteDiskStep = {
      id: this.id('delete-disk', volume.id),
      kind: 'delete-disk',
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(dependsOn),
      reasons,
      destructive: true,
      summary: `delete-disk ${volume.id} (${volume.size_gb} GiB)`,
      volumeId: volume.id,
    };
    return this.add(step);
  }

  /**
   * A power step on the instance's VM: the one it keeps (`serverId`), or the one its create-vm
   * makes (`createStep`, after the associate in `dependsOn`).
   */
  power(args: {
    kind: PowerKind;
    claim: string;
    vm: { serverId: string } | { createStep: string };
    dependsOn: Deps;
    reasons: string[];
  }): string {
    const serverId = 'serverId' in args.vm ? args.vm.serverId : null;
    const step: PowerStep = {
      id: this.id(args.kind, null),
      kind: args.kind,
      instance: this.name,
      unit: this.name,
      group: this.group,
      dependsOn: deps(args.dependsOn),
      reasons: args.reasons,
      destructive: false,
      summary: `${args.kind} ${serverId ?? 'its new VM'} ${args.claim}`,
      serverId,
      createStep: 'createStep' in args.vm ? args.vm.createStep : null,
    };
    return this.add(step);
  }
}

/** The VM's cloud_properties from the cloud config, or nothing when none were written. */
function cloudProperties(claim: Claim): Pick<VmSpec, 'cloud_properties'> {
  const props = {
    vm_type: claim.vmType.cloud_properties,
    az: claim.azCloudProperties,
    subnet: claim.networks[0]?.cloudProperties ?? {},
  };
  const any = Object.values(props).some((p) => Object.keys(p).length > 0);
  return any ? { cloud_properties: props } : {};
}

/** The primary subnet as the cloud config draws it: where every cloud takes a dynamic address from. */
function addressing(claim: Claim): Pick<VmSpec, 'addressing'> {
  const primary = claim.networks[0];
  return primary === undefined ? {} : { addressing: { range: primary.subnet, ...primary.addressing } };
}
