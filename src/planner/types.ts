// The planner's vocabulary: claims (the patent), the embodiment, and the obligation.
import type { VmStrategy } from '../domain/manifest';
import type { Allocation, Image, QuotaAmount, Server, Volume, VmSpec } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import type { AddressRefusal } from './liveness';

export type { VmSpec } from '../domain/cloud';

/** One VM the manifest requires. `fingerprint` covers exactly the fields that force a new VM. */
export interface Claim {
  /** `<group>/<index>` */
  id: string;
  group: string;
  index: number;
  az: string;
  azCloudProperties: Record<string, unknown>;
  vmType: {
    name: string;
    cpus: number;
    memory_mb: number;
    disk_gb: number;
    cloud_properties: Record<string, unknown>;
  };
  stemcell: { alias: string } & Image;
  networks: ClaimNetwork[];
  env: Record<string, unknown>;
  /** Not part of the fingerprint: a disk change never forces a new VM. */
  persistentDisk: { size_gb: number; type: string | null; cloud_properties: Record<string, unknown> } | null;
  bootstrap: boolean;
  fingerprint: string;
}

export interface ClaimNetwork {
  name: string;
  /** The subnet's CIDR range the claim's AZ resolves to. */
  subnet: string;
  staticIp: string | null;
  /**
   * The subnet's cloud_properties (EC2: subnet_id), absent when it has none. Not in the fingerprint:
   * the range stands for the subnet.
   */
  cloudProperties?: Record<string, unknown>;
  /**
   * The subnet's reserved (its gateway first) and static ranges: every cloud gives a dynamic VM an
   * address of the subnet's range outside these (BOSH manual networks). Not in the fingerprint: editing
   * them moves no VM.
   */
  addressing: { reserved: string[]; static: string[] };
}

/** A group's resolved update policy. `maxInFlight` is already a count (percentages resolved, min 1). */
export interface GroupPolicy {
  name: string;
  instances: number;
  strategy: VmStrategy;
  /** true when the manifest (group or deployment) chose the strategy; false when it came from the default. */
  strategyExplicit: boolean;
  canaries: number;
  maxInFlight: number;
  serial: boolean;
  migratedFrom: string[];
}

export interface Patent {
  deployment: string;
  resourcePool: string;
  /** Sorted by group (manifest order), then index. */
  claims: Claim[];
  groups: GroupPolicy[];
  warnings: string[];
}

/** Where an instance is now: the input to AZ placement (existing instances keep their AZ). */
export interface Placement {
  group: string;
  index: number;
  az: string;
}

export type InstanceCondition = 'ok' | 'missing-vm' | 'failed' | 'in-flight' | 'detached';

export interface EmbodiedInstance {
  record: InstanceRecord;
  /** The VM that embodies the instance (associated to it), or null. */
  server: Server | null;
  /**
   * Other servers associated to the same instance, to be deleted: live ones ranked below `server`
   * (never "the first" kept), then DELETING ones (on their way out, still to be awaited and released).
   */
  duplicates: Server[];
  /** The allocation `server` consumes. */
  allocation: Allocation | null;
  volume: Volume | null;
  condition: InstanceCondition;
}

export interface Embodiment {
  deployment: string;
  /** Sorted by group, index, id. */
  instances: EmbodiedInstance[];
  /** Tagged servers that no instance owns (e.g. created but never associated). */
  orphans: Server[];
  /** Allocations tagged for the deployment that no live server consumes. */
  strayAllocations: Allocation[];
  /** Volumes tagged for an instance that no longer exists. */
  strayVolumes: Volume[];
  /** Every allocation tagged for the deployment, by id (quota in use now; orphans' allocations). */
  allocations: Allocation[];
}

export type StepKind =
  | 'create-vm'
  | 'associate-vm-to-instance'
  | 'detach-disk'
  | 'delete-server'
  | 'release-quota'
  | 'delete-disk'
  | PowerKind;

/** Power steps (power.ts): a VM powered off or on, or rebooted; they change no VM and no quota. */
export type PowerKind = 'power-off' | 'power-on' | 'reboot';

interface StepBase {
  /** Unique and stable: `<unit>:<kind>[:<object id>]`. */
  id: string;
  kind: StepKind;
  /** The instance name `<group>/<uuid>` the step serves, or `orphan/<server id>` / `stray/<id>`. */
  instance: string;
  /** Steps of one unit form one instance update; canaries and max_in_flight count units. */
  unit: string;
  /**
   * The group whose update policy schedules this unit; '' for units admitted at once: cleanup of
   * strays and orphans.
   */
  group: string;
  dependsOn: string[];
  reasons: string[];
  destructive: boolean;
  /** One line for the Temporal UI: "create-vm api/2 z1 small ubuntu-jammy/1.182". */
  summary: string;
}

export interface CreateVmStep extends StepBase {
  kind: 'create-vm';
  claim: string;
  instanceId: string;
  pool: string;
  quota: QuotaAmount;
  spec: VmSpec;
}

export interface AssociateStep extends StepBase {
  kind: 'associate-vm-to-instance';
  claim: string;
  instanceId: string;
  /** The create-vm step whose result names the server; null with `existingServer`. */
  createStep: string | null;
  /** cck reattach-disk: associate the instance's own VM again, which attaches its disk. */
  existingServer?: string;
  disk: { size_gb: number; type: string | null; cloud_properties: Record<string, unknown> } | null;
  /** hot_swap: the instance's volume is on the old VM and this step moves it. */
  movesDisk?: { volumeId: string; from: string };
}

export interface DetachDiskStep extends StepBase {
  kind: 'detach-disk';
  volumeId: string;
  serverId: string;
}

export interface DeleteServerStep extends StepBase {
  kind: 'delete-server';
  serverId: string;
}

export interface ReleaseQuotaStep extends StepBase {
  kind: 'release-quota';
  allocationId: string;
  /** The server that must be gone first (two-stage deprovision), if any. */
  serverId: string | null;
  quota: QuotaAmount;
}

export interface DeleteDiskStep extends StepBase {
  kind: 'delete-disk';
  volumeId: string;
}

export interface PowerStep extends StepBase {
  kind: PowerKind;
  /** The VM to act on; null when the unit's create-vm makes it (`createStep`'s result names it). */
  serverId: string | null;
  createStep: string | null;
}

export type Step =
  | CreateVmStep
  | AssociateStep
  | DetachDiskStep
  | DeleteServerStep
  | ReleaseQuotaStep
  | DeleteDiskStep
  | PowerStep;

export type InstanceAction = 'create' | 'replace' | 'delete' | 'keep';

/** The answer for one instance, so that reconciler, CLI and UI never work it out again. */
export interface InstancePlan {
  instance: string;
  claim: string | null;
  action: InstanceAction;
  strategy: VmStrategy | null;
  reasons: string[];
  /** Replacement or deletion loses the VM's local disk and may change its IP. */
  destructive: boolean;
}

export interface Obligation {
  deployment: string;
  /** Topologically ordered; ties broken by id. */
  steps: Step[];
  instances: InstancePlan[];
  /** Group policies in the order groups are updated. */
  groups: GroupPolicy[];
  /** The deployment's own quota use at the obligation's worst moment (existing allocations included). */
  quotaPeak: QuotaAmount;
  /** Instance records once every step has been enacted. */
  records: InstanceRecord[];
  warnings: string[];
  /**
   * Why the plan must not start: a new VM's static IP held by a server that keeps it, or frees it
   * only after that VM's own update (liveness.ts). Non-empty ⇒ refused before any step.
   */
  refusals: AddressRefusal[];
}

export interface ReconcileOptions {
  /** `true`: replace every started instance; a list: only those instances (names or claim ids). */
  recreate?: boolean | string[];
  /** Strategy for groups whose manifest does not choose one (DESIGN: delete_create unless flagged). */
  defaultStrategy: VmStrategy;
  /** The operation sequence number: new instance uuids derive from it, never from randomness. */
  operationSeq: number;
  /** The operation id (tags and idempotency keys). */
  operationId: string;
  /**
   * The deployment entity's incarnation (a deployment deleted and deployed again starts over at op-1).
   * When set, new instance uuids derive from `${operationSeq}@${incarnation}`, so a second incarnation
   * never reuses the first one's uuids (or its disk keys). Absent: the seed is the sequence alone.
   */
  incarnation?: string;
  /**
   * Dynamic addresses per subnet (`<network> <range>`; `dynamicAddresses(cloudConfig)`, addresses.ts):
   * hot_swap surges beyond them fall back to delete_create. Absent: no limit.
   */
  dynamicAddresses?: ReadonlyMap<string, number>;
  /** The power the operation asks for (power.ts); absent: none (deploy, recreate, delete, a re-plan). */
  power?: PowerIntent;
}

/**
 * What an operation asks of the VMs' power: a soft stop powers off the VMs of stopped instances, a
 * start powers on the kept VMs of started ones, an instance action acts on one instance's VM
 * (`instance` as `<group>/<uuid>` or `<group>/<index>`).
 */
export type PowerIntent =
  | { kind: 'stop' }
  | { kind: 'start' }
  | { kind: 'action'; instance: string; action: 'start' | 'stop' | 'reboot' };
