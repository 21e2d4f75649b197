// Inputs, results and views shared by the workflows, the CLI and the tests.
import type { CloudConfig } from '../domain/cloud-config';
import type { Manifest, VmStrategy } from '../domain/manifest';
import type { InstanceRecord } from '../domain/instance';
import type { InstancePlan, StepKind } from '../planner/types';
import type { NonceEntry } from './signed-requests';
import type { Problem, Resolution } from '../planner/cloud-check';

export type OperationKind = 'deploy' | 'stop' | 'start' | 'recreate' | 'delete' | 'instance-action' | 'cck';
export type OperationStatus = 'running' | 'converged' | 'failed' | 'cancelled' | 'planned';
export type Phase =
  'idle' | 'observing' | 'planning' | 'checking-quota' | 'enacting' | 'verifying' | 'cleaning-up' | 'done';

export interface DeployRequest {
  /**
   * The manifest and cloud config as a client sent them. The CLI and the API send them parsed; the
   * entity's validator still checks them, since anyone with access to the namespace can send an update.
   */
  manifest: unknown;
  cloudConfig: unknown;
  recreate?: boolean;
  dryRun?: boolean;
}

export interface StopRequest {
  hard?: boolean;
  instances?: string[];
  /** Plan only: the operation observes and plans, and changes nothing (as a deploy's dry run). */
  dryRun?: boolean;
}

export interface InstancesRequest {
  instances?: string[];
  /** Plan only (start, recreate): as StopRequest's. */
  dryRun?: boolean;
}

/** Cloud check: without a resolution it only reports (a dry run); with one it applies it. */
export interface CckRequest {
  resolution?: Resolution;
}

export interface InstanceActionRequest {
  instance: string;
  action: 'start' | 'stop' | 'reboot';
}

/** What every update returns at once: the operation it started. */
export interface OperationTicket {
  deployment: string;
  operation: string;
  workflowId: string;
  seq: number;
  kind: OperationKind;
}

/** Tunables, mostly so tests can lower the thresholds that large deployments reach. */
export interface OperationLimits {
  /** Continue-as-new (after draining in-flight steps) once history passes this many events. */
  historyThreshold: number;
  /** Steps in flight at once in one operation (bounded well below Temporal's 2,000 pending activities). */
  maxConcurrentSteps: number;
  /** Poll interval and build deadline handed to activities, in ms. */
  buildDeadlineMs: number;
  /**
   * A watch pass that sees no change returns after this long (default WATCH_BOUND_MS, an hour): the
   * idle deployment's history cost. Tests and the bench lower it to measure a pass.
   */
  watchBoundMs?: number;
}

export const DEFAULT_LIMITS: OperationLimits = {
  historyThreshold: 20_000,
  maxConcurrentSteps: 500,
  buildDeadlineMs: 10 * 60_000,
};

export interface OperationInput {
  deployment: string;
  operation: string;
  seq: number;
  kind: OperationKind;
  /** Parsed and checked when the entity accepted them: the operation does not parse them again. */
  manifest: Manifest;
  cloudConfig: CloudConfig;
  records: InstanceRecord[];
  recreate?: boolean | string[];
  dryRun?: boolean;
  stop?: StopRequest;
  start?: InstancesRequest;
  action?: InstanceActionRequest;
  /** cck: the resolution to apply to the problems it fits; null reports only. */
  cck?: { resolution: Resolution | null };
  limits: OperationLimits;
  /** Set by continue-as-new: what was already enacted, so the operation resumes instead of restarting. */
  resume?: ResumeState;
  /** The entity's incarnation (incarnation.ts); absent in operations started before it existed. */
  incarnation?: string;
  /**
   * Why the operation runs when no user asked for it (`resurrect: VM missing since <time>`), or what
   * a cck does (`report (a dry run)`, `resolution delete-orphan`).
   */
  reason?: string;
}

export interface ResumeState {
  defaultStrategy: VmStrategy;
  observed: import('../domain/cloud').Observed;
  done: string[];
  results: Record<string, StepResult>;
  runs: number;
}

export interface StepResult {
  serverId?: string;
  allocationId?: string;
  volumeId?: string | null;
}

export interface PlanSummary {
  create: number;
  replace: number;
  delete: number;
  keep: number;
}

export interface StatusRow {
  instance: string;
  group: string;
  index: number;
  az: string;
  state: string;
  vm: string | null;
  vm_state: string | null;
  ips: string[];
  macs: string[];
  power: string | null;
  health: string | null;
}

export interface OperationFailure {
  step: string | null;
  message: string;
  type: string | null;
}

export interface OperationResult {
  deployment: string;
  operation: string;
  kind: OperationKind;
  status: Exclude<OperationStatus, 'running'>;
  strategy: VmStrategy;
  summary: PlanSummary;
  instances: InstancePlan[];
  records: InstanceRecord[];
  projection: StatusRow[];
  stepsTotal: number;
  stepsDone: number;
  /** Steps still owed when the operation did not converge. */
  remaining: string[];
  failure: OperationFailure | null;
  warnings: string[];
  continuedAsNew: number;
  /** cck: the problems found when the operation observed the cloud (before any resolution). */
  problems?: Problem[];
  /** cck: the ids of the problems the resolution was applied to. */
  resolved?: string[];
  /**
   * The obligation as planned, with every step: for a dry run (`planned`) only. An applied operation
   * leaves it out: its steps are two thirds of a large result, which goes out twice at the operation's
   * end (to the entity, then as the workflow's result), and `instances` already says what happens to
   * every instance and why. The steps stay in the operation's history and `operationPlan` query.
   */
  plan: PlanView | null;
}

export interface InFlightStep {
  id: string;
  kind: StepKind;
  summary: string;
}

/** A step (or an opening read) whose activity keeps failing retryably: why the operation waits. */
export interface StepWait {
  /** The step id, or null for a read outside the plan (observe, get-pool). */
  step: string | null;
  /** The step's summary line, or `observe web`. */
  summary: string;
  /** The attempt that failed last. */
  attempt: number;
  /** When the step's first attempt was scheduled (ms since epoch). */
  since: number;
  /** How long it has been retrying, at the operation's last workflow task. */
  forMs: number;
  /** The last failure, in the cloud's words. */
  error: string;
  /** `create-vm api/0 z1 small ubuntu-jammy/1.181: retrying for 2m10s (attempt 9): ...` */
  line: string;
}

export interface OperationProgress {
  operation: string;
  kind: OperationKind;
  phase: Phase;
  stepsTotal: number;
  stepsDone: number;
  inFlight: InFlightStep[];
  /** Steps retrying past their first attempts, with their last error (empty when nothing waits). */
  waiting: StepWait[];
  summary: PlanSummary | null;
  cancelRequested: boolean;
  failure: OperationFailure | null;
}

export interface OperationRecord {
  operation: string;
  seq: number;
  kind: OperationKind;
  /** Who started it: `user` (an update) or `resurrector` (the watch). Absent in older records. */
  by?: string;
  /** Why, when not a user's request (`resurrect: VM missing since <time>`). */
  reason?: string;
  status: OperationStatus;
  summary: PlanSummary | null;
  failure: OperationFailure | null;
}

export interface DeploymentStatus {
  deployment: string;
  phase: Phase;
  current: OperationTicket | null;
  manifestDigest: string | null;
  instances: StatusRow[];
  recent: OperationRecord[];
  deleted: boolean;
  /**
   * The current operation's progress, with what it waits on (filled in by the client from the
   * operation's progress query; the entity's status query leaves it out).
   */
  progress?: OperationProgress | null;
  /** The watch and the resurrector (absent from entities that do not watch yet). */
  heal?: HealView;
}

/** What `converge status` says about the watch and healing. */
export interface HealView {
  watching: boolean;
  intervalSeconds: number;
  resurrect: boolean;
  maxUnhealthy: number | string;
  /** `meltdown: N of M unhealthy, not resurrecting`, while it lasts; else null. */
  meltdown: string | null;
  /** Instances missing or in ERROR, with since when. */
  trouble: Array<{ instance: string; condition: string; since: string; vm: string | null }>;
  /** The last resurrection's reason, if any. */
  lastResurrection: string | null;
}

/** The deployment's event log (`converge events`): newest last, bounded. */
export interface EventLogView {
  events: import('../domain/events').ConvergeEvent[];
  /** Events dropped from the front to keep the log bounded. */
  dropped: number;
}

/** The watch's and resurrector's durable state, carried across continue-as-new. */
export interface HealState {
  trouble: Record<string, import('../planner/resurrection').Trouble>;
  /** resurrectionKey of every VM resurrected (bounded): never twice for the same VM. */
  resurrected: string[];
  meltdown: string | null;
  lastResurrection: string | null;
}

export interface PlanView {
  operation: string;
  /** Why the operation runs when no user asked (`resurrect: VM missing since <time>`). */
  reason?: string;
  summary: PlanSummary;
  instances: InstancePlan[];
  steps: Array<{ id: string; kind: StepKind; instance: string; dependsOn: string[]; reasons: string[] }>;
  quotaPeak: { cpus: number; memory_mb: number; instances: number };
  warnings: string[];
}

/** The deployment entity's durable state, carried across continue-as-new. */
export interface DeploymentState {
  name: string;
  records: InstanceRecord[];
  /** The last deployed manifest and cloud config (null until the first deploy). */
  manifest: Manifest | null;
  cloudConfig: CloudConfig | null;
  manifestDigest: string | null;
  seq: number;
  recent: OperationRecord[];
  projection: StatusRow[];
  /** The last operation's `plan`: a dry run's, null after an applied operation. */
  lastPlan: PlanView | null;
  deleted: boolean;
  limits: OperationLimits;
  /** Set once when the state is created fresh (incarnation.ts); carried across continue-as-new. */
  incarnation?: string;
  /** Nonces of accepted signed requests, until they expire (signed-requests.ts). */
  nonces?: NonceEntry[];
  /** The event log (absent in states carried from before it existed). */
  events?: import('../domain/events').ConvergeEvent[];
  /** Sequence number of the last event ever logged (ids derive from it); and how many were dropped. */
  eventSeq?: number;
  /** The last event sequence number handed to the callbacks outbox. */
  toldSeq?: number;
  eventsDropped?: number;
  heal?: HealState;
}

export interface DeploymentInput {
  name: string;
  state?: DeploymentState;
  limits?: Partial<OperationLimits>;
  /** An operation accepted (its ticket already returned) but not yet started, carried across continue-as-new. */
  pending?: { ticket: OperationTicket; input: OperationInput } | null;
  hardStopRequested?: boolean;
}

export function deploymentWorkflowId(name: string): string {
  return `deployment/${name}`;
}

export function operationWorkflowId(name: string, seq: number): string {
  return `deployment/${name}/op/${seq}`;
}
