// The contract between workflows and activities: defined once, implemented in src/activities,
// called through proxyActivities in src/workflows. Inputs carry ids and specs, never credentials.
import type { CloudKind } from './cloud-target';
import type {
  AddressHolder,
  CloudTopology,
  Image,
  Observed,
  PoolStatus,
  QuotaAmount,
  Server,
  VmSpec,
} from './cloud';
import type { InstanceRecord } from './instance';

export interface ObserveInput {
  deployment: string;
  /** Also read the cloud's AZs and named networks (the operation's opening read checks the cloud config). */
  topology?: boolean;
  /** Also ask the cloud who holds these addresses (the static IPs the operation's new VMs may need). */
  addresses?: string[];
  /** Also ask which of these stemcells the cloud has an image for (the manifest's). */
  stemcells?: Image[];
}

/**
 * An observation, with the cloud's topology, the holders of the addresses and the images when asked
 * for (null: the cloud has no topology to check against, or cannot say who holds an address).
 */
export type ObservedWithTopology = Observed & {
  topology?: CloudTopology | null;
  holders?: AddressHolder[] | null;
  /** The images the cloud has: those it lists, and those of the asked stemcells it can find. */
  images?: Image[];
};

/** One watch pass (watch-cloud.ts): poll the cloud until the projection differs from `baseline`. */
export interface WatchCloudInput {
  deployment: string;
  /** The instance records the projection joins servers with (the entity's, as the pass starts). */
  records: InstanceRecord[];
  /** Digest of the projection the workflow holds (watchDigest): a pass returns when it differs. */
  baseline: string;
  /** Between two looks at the cloud. */
  intervalMs: number;
  /** Return after this long even if nothing changed (the workflow's timers: grace periods, bounds). */
  returnAfterMs: number;
}

export interface WatchCloudResult {
  /** The last look, when its projection differs from the baseline (the workflow projects it); else null. */
  observed: Observed | null;
  /** Looks at the cloud this pass made (bench: reads per idle hour). */
  looks: number;
}

export interface CreateVmInput {
  deployment: string;
  operation: string;
  claim: string;
  pool: string;
  quota: QuotaAmount;
  spec: VmSpec;
  /** Give up on a server still in BUILD after this long (it is deleted and the create retried). */
  buildDeadlineMs?: number;
  /** When a persistent failure ends the step (absent: DEFAULT_FAILURE_BUDGET). */
  budget?: FailureBudget;
}

/**
 * How long a persistent failure may last before its step fails for good (the manifest's `update:`
 * `max_failed_builds`, `conflict_timeout_minutes`). Transient failures (5xx, 429, timeouts, a worker
 * killed) have no budget: an outage delays an operation, it never fails it.
 */
export interface FailureBudget {
  /** Builds of one VM ending without an ACTIVE server (ERROR, stuck, vanished) before create-vm fails. */
  failedBuilds: number;
  /** How long a conflict (static IP taken, volume in use) is retried, from the step's first attempt. */
  conflictMs: number;
}

export const DEFAULT_FAILURE_BUDGET: FailureBudget = { failedBuilds: 3, conflictMs: 10 * 60_000 };

export interface CreateVmResult {
  serverId: string;
  allocationId: string;
  /** How many servers had to be built (1 unless ERROR or stuck builds were replaced). */
  attempts: number;
}

export interface AssociateInput {
  deployment: string;
  serverId: string;
  instanceId: string;
  disk: { size_gb: number; type: string | null; cloud_properties: Record<string, unknown> } | null;
  /** When a persistent conflict (its disk busy elsewhere) ends the step (absent: DEFAULT_FAILURE_BUDGET). */
  budget?: FailureBudget;
}

export interface AssociateResult {
  volumeId: string | null;
  /** The pool the volume came from, and whether it was created for this call. */
  volumePool: string | null;
  volumeCreated: boolean;
}

export interface DetachDiskInput {
  volumeId: string;
  serverId: string;
}

export interface DeleteServerInput {
  serverId: string;
}

export interface ReleaseQuotaInput {
  allocationId: string;
  serverId: string | null;
}

export interface DeleteDiskInput {
  volumeId: string;
}

export interface InstanceActionInput {
  serverId: string;
  action: 'start' | 'stop' | 'reboot';
}

/**
 * One link of a chain: a step of a unit whose only dependency is the link before it. The kinds that
 * chain are the ones a unit runs back to back without waiting for anything else: associate the new
 * VM, delete the old server, release its quota. A disk's detach and delete chain into nothing, but
 * ride in a batch of chains as a chain of one (a fresh deploy's associates and a delete's disk steps
 * alike).
 */
export type ChainLink =
  | { kind: 'associate-vm-to-instance'; input: AssociateInput }
  | { kind: 'delete-server'; input: DeleteServerInput }
  | { kind: 'release-quota'; input: ReleaseQuotaInput }
  | { kind: 'detach-disk'; input: DetachDiskInput }
  | { kind: 'delete-disk'; input: DeleteDiskInput };

export interface ChainInput {
  links: ChainLink[];
}

/** One result per link, in order: the associate's, or null for the links that return nothing. */
export interface ChainResult {
  results: Array<AssociateResult | null>;
}

/**
 * The details of a non-retryable failure of link `completed` (> 0): the links before it are done and
 * stay done, with their results. A failure of the first link carries no such details.
 */
export interface ChainBreak {
  completed: number;
  results: Array<AssociateResult | null>;
}

/** Chains run as one activity (enact-chains.ts); each input is the chain's own. */
export interface ChainBatchInput {
  chains: ChainInput[];
}

/**
 * One outcome per chain, in order: its links' results; the non-retryable failure it would have failed
 * its own activity with (with the links done before it, past the first); or, after a retryable
 * failure, why it must run again alone (as an enact-chain activity of its own, with its retry policy).
 */
export interface ChainBatchResult {
  results: Array<
    | { done: ChainResult }
    | { failed: { type: string | null; message: string; broke: ChainBreak | null } }
    | { alone: string }
  >;
}

/** Create-vm steps run as one activity (create-vms.ts); each input is the step's own. */
export interface CreateVmBatchInput {
  creates: CreateVmInput[];
}

/**
 * One outcome per create, in order: the VM it built; the non-retryable failure it would have failed
 * its own activity with; or, after a retryable failure, why it must run again alone (as a create-vm
 * activity of its own, with its retry policy).
 */
export interface CreateVmBatchResult {
  results: Array<
    { built: CreateVmResult } | { failed: { type: string | null; message: string } } | { alone: string }
  >;
}

export interface ConvergeActivities {
  observe(input: ObserveInput): Promise<ObservedWithTopology>;
  watchCloud(input: WatchCloudInput): Promise<WatchCloudResult>;
  getPool(pool: string): Promise<PoolStatus>;
  createVm(input: CreateVmInput): Promise<CreateVmResult>;
  createVms(input: CreateVmBatchInput): Promise<CreateVmBatchResult>;
  associateVmToInstance(input: AssociateInput): Promise<AssociateResult>;
  detachDisk(input: DetachDiskInput): Promise<void>;
  deleteServer(input: DeleteServerInput): Promise<void>;
  releaseQuota(input: ReleaseQuotaInput): Promise<void>;
  deleteDisk(input: DeleteDiskInput): Promise<void>;
  instanceAction(input: InstanceActionInput): Promise<Server>;
  enactChain(input: ChainInput): Promise<ChainResult>;
  enactChains(input: ChainBatchInput): Promise<ChainBatchResult>;
}

/** ApplicationFailure types that must never be retried. */
export const NON_RETRYABLE = {
  quotaExceeded: 'QuotaExceeded',
  imageNotFound: 'ImageNotFound',
  invalid: 'InvalidInput',
  unauthorized: 'Unauthorized',
  noStorage: 'NoStorageAvailable',
  invalidState: 'InvalidState',
  /** The server or volume a step targets is gone (outside deletes, where 404 means done): re-plan. */
  notFound: 'NotFound',
  /** An idempotency key whose allocation (or server) was already released: the step is stale. */
  gone: 'Gone',
  /** create-vm: `failedBuilds` builds ended without an ACTIVE server (FailureBudget). */
  buildsFailed: 'BuildsFailed',
  /** A conflict (static IP taken, volume in use) outlasted `conflictMs` (FailureBudget). */
  persistentConflict: 'PersistentConflict',
} as const;

/**
 * What an activity that keeps failing retryably tells its workflow (signal STEP_RETRYING_SIGNAL), so
 * the wait shows in the operation's progress, `converge status` and the UI's current details.
 */
export interface StepRetrying {
  /** The step kind (or `observe`, `get-pool`) and the key its step is found by (see retry-report.ts). */
  kind: string;
  key: string;
  /** The attempt that just failed (Temporal's count, 1 first). */
  attempt: number;
  /** When the step's first attempt was scheduled (ms since epoch). */
  since: number;
  /** Why the attempt failed, in the cloud's words. */
  error: string;
}

export const STEP_RETRYING_SIGNAL = 'stepRetrying';

/** The worker's own settings, read once per operation so the operation records what it started with. */
export interface WorkerSettings {
  defaultStrategy: 'hot_swap' | 'delete_create';
  /**
   * What the worker computes on, so an operation can refuse a cloud config its cloud cannot honour
   * before any step (the CLI checks only when told the cloud). Absent in histories recorded before.
   */
  cloud?: CloudKind;
}

export interface WorkerSettingsActivity {
  workerSettings(): Promise<WorkerSettings>;
}
