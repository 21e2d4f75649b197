// The deployment entity's state and rules: the lock that serialises operations, the validators that
// reject bad updates before anything is written, and what each finished operation changes.
import { ApplicationFailure } from '@temporalio/workflow';
import { canonicalJson, deploymentEvent, stateChanges } from '../planner';
import { sha256Hex } from '../planner/hash';
import { DEFAULT_LIMITS, deploymentWorkflowId, operationWorkflowId } from './types';
import type {
  CckRequest,
  DeployRequest,
  DeploymentInput,
  DeploymentState,
  DeploymentStatus,
  InstanceActionRequest,
  InstancesRequest,
  OperationInput,
  OperationKind,
  OperationResult,
  OperationTicket,
  StopRequest,
} from './types';
import { DEPLOYMENT_DELETED, PERMISSION_DENIED } from './messages';
import { EventLog } from './event-log';
import { Healer } from './heal';
import { selects } from './records';
import { acceptedDeployInputs, checkRequest, inputProblem, validateDeployPayload } from './validation';
import { CLOCK_SKEW_MS, authorize, type RequestKind } from '../domain/permissions';
import { NonceStore, requestDigest } from './signed-requests';
import { trustRoot } from './trust-root';

const RECENT = 20;
const ACTIONS = new Set(['start', 'stop', 'reboot']);

export interface PendingOperation {
  ticket: OperationTicket;
  input: OperationInput;
}

export class DeploymentEntity {
  readonly state: DeploymentState;
  pending: PendingOperation | null = null;
  current: OperationTicket | null = null;
  hardStopRequested = false;
  readonly nonces: NonceStore;
  readonly log: EventLog;
  /** Set by the workflow while its watch runs (entities replaying older histories do not watch). */
  watching = false;
  /**
   * Set by the workflow while a deleted entity waits for the nonces it holds to expire (`guardUntil`):
   * meanwhile a deploy is accepted and begins the next incarnation in this run, with these nonces.
   */
  lingering = false;
  readonly healer: Healer;

  /**
   * `incarnation` names a fresh state only; a carried state keeps whatever it had. `clock` is the
   * workflow's (deterministic) clock; `root` the worker's admin key, null when permissions are off.
   */
  constructor(
    input: DeploymentInput,
    incarnation?: string,
    private readonly clock: () => number = Date.now,
    private readonly root: string | null = trustRoot(),
  ) {
    this.pending = input.pending ?? null;
    this.hardStopRequested = input.hardStopRequested ?? false;
    this.state = input.state ?? {
      name: input.name,
      records: [],
      manifest: null,
      cloudConfig: null,
      manifestDigest: null,
      seq: 0,
      recent: [],
      projection: [],
      lastPlan: null,
      deleted: false,
      limits: { ...DEFAULT_LIMITS, ...input.limits },
      ...(incarnation === undefined ? {} : { incarnation }),
    };
    this.state.nonces ??= [];
    this.nonces = new NonceStore(this.state.nonces);
    this.log = new EventLog(this.state);
    this.healer = new Healer(this.state, this.log);
  }

  get name(): string {
    return this.state.name;
  }

  get busy(): boolean {
    return this.current !== null || this.pending !== null;
  }

  // ----- validators: throw to reject; a rejected update leaves no trace in history -----

  validateDeploy(req: DeployRequest, auth?: unknown): void {
    checkRequest('deploy', req);
    // Authorization first: who may not deploy learns nothing about the entity or the payload. The
    // pool is read from the raw manifest here; the payload check below then validates it.
    // Moving a deployment to another pool changes VMs in both.
    // A lingering deleted entity is about to become a new deployment: only the new manifest's pool counts.
    const own = this.lingering ? null : this.pool;
    const pools = [poolOf(req.manifest), own].filter((p): p is string => p !== null);
    this.authorize('deploy', req, auth, [...new Set(pools)]);
    validateDeployPayload(req.manifest, req.cloudConfig, this.name);
    if (!this.lingering) this.refuseWhileBusy('deploy');
  }

  validateStop(req: StopRequest, auth?: unknown): void {
    checkRequest('stop', req);
    this.authorize(req.hard ? 'stop-hard' : 'stop', req, auth);
    this.refuseWhileBusy(req.hard ? 'stop --hard' : 'stop');
    this.requireDeployed();
    this.requireKnownInstances(req.instances);
  }

  validateInstances(kind: 'start' | 'recreate', req: InstancesRequest, auth?: unknown): void {
    checkRequest('instances', req);
    this.authorize(kind, req, auth);
    this.refuseWhileBusy(kind);
    this.requireDeployed();
    this.requireKnownInstances(req.instances);
  }

  validateDelete(req: unknown, auth?: unknown): void {
    checkRequest('delete', req);
    this.authorize('delete', req, auth);
    this.refuseWhileBusy('delete');
    this.requireDeployed();
  }

  validateCck(req: CckRequest, auth?: unknown): void {
    checkRequest('cck', req);
    this.authorize('cck', req, auth);
    this.refuseWhileBusy('cck');
    this.requireDeployed();
  }

  /** A report is a dry run: it observes and plans, and changes nothing. */
  acceptCck(req: CckRequest): OperationTicket {
    const resolution = req.resolution ?? null;
    // The reason names what this cck does, in its summary, status and the event log.
    const reason = resolution === null ? 'report (a dry run)' : `resolution ${resolution}`;
    return this.accept('cck', { cck: { resolution }, dryRun: resolution === null, reason });
  }

  /** Cancel (or hard-stop now) whatever runs: refused only for lack of permission. */
  validateInterrupt(kind: 'cancel' | 'hard-stop-now', req: unknown, auth?: unknown): void {
    checkRequest('interrupt', req);
    this.authorize(kind, req, auth);
    this.refuseDeleted();
    if (kind === 'hard-stop-now') this.requireDeployed();
  }

  validateInstanceAction(req: InstanceActionRequest, auth?: unknown): void {
    checkRequest('instanceAction', req);
    this.authorize('instance-action', req, auth);
    this.refuseWhileBusy('instance action');
    this.requireDeployed();
    if (!ACTIONS.has(req.action)) {
      throw inputProblem('action', `expected one of start, stop, reboot; got '${String(req.action)}'`);
    }
    this.requireKnownInstances([req.instance], 'instance');
    const picked = this.state.records.filter((r) => selects(req.instance, r));
    if (picked.length !== 1)
      throw inputProblem('instance', `'${req.instance}' must name exactly one instance`);
    if (picked[0]?.state === 'detached') {
      throw new Error(
        `instance ${req.instance} is hard-stopped (detached): it has no VM; use 'converge start'`,
      );
    }
  }

  /**
   * With a trust root, the request must be signed by a key the admin granted `kind`'s permission on
   * every pool it touches (default: the deployment's). Without one, permissions are off.
   */
  private authorize(kind: RequestKind, req: unknown, auth: unknown, pools?: string[]): void {
    if (this.root === null) return;
    const now = this.clock();
    const verdict = authorize(auth, {
      trustRoot: this.root,
      deployment: this.name,
      request: kind,
      digest: requestDigest(req),
      pools: pools ?? (this.pool === null ? [] : [this.pool]),
      now,
      seen: (nonce) => this.nonces.seen(nonce),
    });
    if (!verdict.ok) throw ApplicationFailure.nonRetryable(verdict.reason, PERMISSION_DENIED);
    if (!this.nonces.hasRoom(now)) {
      throw ApplicationFailure.nonRetryable(
        `permission denied: deployment ${this.name} holds ${NonceStore.CAPACITY} unexpired signed requests; try again in a few minutes`,
        PERMISSION_DENIED,
      );
    }
  }

  /** An accepted update's signature block: its nonce may not be used again. */
  admit(auth: unknown): void {
    this.nonces.remember(auth, this.clock());
  }

  /**
   * When a deleted entity may complete: once every nonce it holds has expired plus the clock skew
   * tolerated (the next run's clock is another workflow task's), or null when that time has passed.
   * A new run starts with an empty nonce store, so completing earlier would let a captured request be
   * replayed against the next incarnation. Read from the state only, so replay does not depend on the
   * worker's trust root (with permissions off no client signs, and the store stays empty).
   */
  guardUntil(): number | null {
    const now = this.clock();
    const until = this.nonces.entries.map((e) => e.expires + CLOCK_SKEW_MS).filter((t) => t > now);
    return until.length === 0 ? null : Math.max(...until);
  }

  /**
   * The next incarnation in this run: everything a new run would start with (no records, manifest,
   * operations or events; op-1 next) under a new incarnation id, but the nonces kept.
   */
  reincarnate(incarnation: string): void {
    const s = this.state;
    s.records = [];
    s.manifest = null;
    s.cloudConfig = null;
    s.manifestDigest = null;
    s.seq = 0;
    s.recent = [];
    s.projection = [];
    s.lastPlan = null;
    s.deleted = false;
    s.incarnation = incarnation;
    delete s.heal;
    this.log.restart();
    this.pending = null;
    this.current = null;
    this.hardStopRequested = false;
    this.lingering = false;
  }

  /** The resource pool of the deployed manifest, or null before the first deploy. */
  get pool(): string | null {
    return poolOf(this.state.manifest);
  }

  private refuseDeleted(): void {
    if (this.state.deleted) {
      // Typed, so a client can tell it from other refusals: the run is about to complete, and a deploy
      // may start the next incarnation once it has.
      throw ApplicationFailure.nonRetryable(`deployment ${this.name} has been deleted`, DEPLOYMENT_DELETED);
    }
  }

  private refuseWhileBusy(what: string): void {
    this.refuseDeleted();
    const running = this.current ?? this.pending?.ticket;
    if (running) {
      throw new Error(
        `deployment ${this.name} is busy: operation ${running.operation} (${running.kind}) is running; ` +
          `${what} was not started. Wait for it, or cancel it with 'converge cancel -d ${this.name}'.`,
      );
    }
  }

  private requireDeployed(): void {
    if (this.state.manifest === null) throw new Error(`deployment ${this.name} has never been deployed`);
  }

  private requireKnownInstances(selectors: string[] | undefined, field = 'instances'): void {
    for (const [i, s] of (selectors ?? []).entries()) {
      if (!this.state.records.some((r) => selects(s, r))) {
        throw inputProblem(
          field === 'instances' ? `instances[${i}]` : field,
          `no instance '${s}' in deployment ${this.name} (use <group>, <group>/<index> or <group>/<uuid>)`,
        );
      }
    }
  }

  // ----- accepting work -----

  /** `by`: who asked (`user`, or `resurrector` for the watch); the event log and status say so. */
  accept(kind: OperationKind, extra: Partial<OperationInput> = {}, by = 'user'): OperationTicket {
    // A deploy brings its own inputs; every other kind's validator required a deployed manifest.
    const manifest = extra.manifest ?? this.state.manifest;
    const cloudConfig = extra.cloudConfig ?? this.state.cloudConfig;
    if (manifest === null || cloudConfig === null)
      throw new Error(`deployment ${this.name} has never been deployed`);
    const seq = ++this.state.seq;
    const ticket: OperationTicket = {
      deployment: this.name,
      operation: `op-${seq}`,
      workflowId: operationWorkflowId(this.name, seq),
      seq,
      kind,
    };
    this.pending = {
      ticket,
      input: {
        deployment: this.name,
        operation: ticket.operation,
        seq,
        kind,
        manifest,
        cloudConfig,
        records: this.state.records,
        limits: this.state.limits,
        ...(this.state.incarnation === undefined ? {} : { incarnation: this.state.incarnation }),
        ...extra,
      },
    };
    this.state.recent.unshift({
      operation: ticket.operation,
      seq,
      kind,
      by,
      ...(extra.reason === undefined ? {} : { reason: extra.reason }),
      status: 'running',
      summary: null,
      failure: null,
    });
    this.state.recent.length = Math.min(this.state.recent.length, RECENT);
    const what = `${ticket.operation} ${kind} by ${by}${extra.reason ? `: ${extra.reason}` : ''}`;
    this.log.append([
      deploymentEvent(this.log.context(now()), 'operation.started', {
        old: null,
        new: 'running',
        detail: what,
      }),
    ]);
    return ticket;
  }

  acceptDeploy(req: DeployRequest): OperationTicket {
    const { manifest, cloudConfig } = acceptedDeployInputs(req);
    if (!req.dryRun) {
      // BOSH's rule: the deployment's manifest is the last one deployed, even if that deploy fails.
      this.state.manifest = manifest;
      this.state.cloudConfig = cloudConfig;
      this.state.manifestDigest = digest(manifest);
    }
    return this.accept('deploy', {
      manifest,
      cloudConfig,
      recreate: req.recreate ?? false,
      dryRun: req.dryRun ?? false,
    });
  }

  takePending(): PendingOperation | null {
    const p = this.pending;
    this.pending = null;
    if (p) this.current = p.ticket;
    return p;
  }

  finish(ticket: OperationTicket, result: OperationResult | null, error: string | null): void {
    this.current = null;
    const entry = this.state.recent.find((r) => r.operation === ticket.operation);
    const before = this.state.projection;
    if (result) {
      this.state.lastPlan = result.plan;
      if (result.status !== 'planned') {
        this.state.records = result.records;
        this.state.projection = result.projection;
        // The operation's own result is the truth: what it changed is logged as state changes.
        this.log.append(stateChanges(before, result.projection, this.log.context(now())));
        this.healer.seen(before, result.projection, Date.now());
      }
      if (entry) {
        entry.status = result.status;
        entry.summary = result.summary;
        entry.failure = result.failure;
      }
      if (ticket.kind === 'delete' && result.status === 'converged') this.state.deleted = true;
    } else if (entry) {
      entry.status = 'failed';
      entry.failure = { step: null, message: error ?? 'operation failed', type: null };
    }
    this.logEnd(ticket, result, error);
  }

  private logEnd(ticket: OperationTicket, result: OperationResult | null, error: string | null): void {
    const status = result?.status ?? 'failed';
    const type =
      status === 'failed'
        ? 'operation.failed'
        : status === 'cancelled'
          ? 'operation.cancelled'
          : 'operation.finished';
    const s = result?.summary;
    const done = s ? `${s.create} create, ${s.replace} replace, ${s.delete} delete` : null;
    const why = result?.failure?.message ?? error;
    const detail = [`${ticket.operation} ${ticket.kind} ${status}`, done, why].filter(Boolean).join(': ');
    this.log.append([
      deploymentEvent(this.log.context(now()), type, { old: 'running', new: status, detail }),
    ]);
  }

  status(phase: DeploymentStatus['phase']): DeploymentStatus {
    return {
      deployment: this.name,
      phase,
      current: this.current ?? this.pending?.ticket ?? null,
      manifestDigest: this.state.manifestDigest,
      instances: this.state.projection,
      recent: this.state.recent,
      deleted: this.state.deleted,
      heal: this.healer.view(this.watching),
    };
  }

  get workflowId(): string {
    return deploymentWorkflowId(this.name);
  }
}

/** A manifest's resource_pool, or null when it has none (yet to be validated, or never deployed). */
function poolOf(manifest: unknown): string | null {
  if (typeof manifest !== 'object' || manifest === null) return null;
  const pool = (manifest as { resource_pool?: unknown }).resource_pool;
  return typeof pool === 'string' ? pool : null;
}

/** Workflow time as ISO-8601 (deterministic inside a workflow). */
function now(): string {
  return new Date(Date.now()).toISOString();
}

function digest(value: unknown): string {
  return sha256Hex(canonicalJson(value)).slice(0, 16);
}
