// The enactor: runs an obligation's steps through activities, respecting the DAG's edges, canaries,
// max_in_flight and serial groups, and ends consistent when it is stopped (cancel, hard stop, failure).
//
// Scheduling (DESIGN §4):
// - A create-vm with no dependencies (hot_swap replacements, new instances) starts at once, in batch.
// - Every other step runs only once its unit (one instance update) is admitted. Units are admitted per
//   group: the group's canaries first, all of which must finish before the rest start; then at most
//   max_in_flight units at a time. A serial group waits for every earlier group; a non-serial group
//   joins the stage of the group before it. Cleanup units (orphans, strays) are admitted at once.
// - At most `maxConcurrentSteps` activities are in flight, far below Temporal's pending-activity cap.
// - Transport only (the steps stay steps): batch creates go ten to an activity, a unit's back-to-back
//   steps go as one chain, chains ready together go ten to an activity, and steps ready together
//   launch by rank (the group furthest behind first). Each saves history events and workflow-task
//   turns, which, not the cloud, were most of a large hot_swap's CPU.
//
// Stopping: the enactor never abandons a step it started. Once stopped it starts nothing new except
// the tear-down that keeps DESIGN §9 true: a hot_swap VM created but not yet associated is deleted and
// its quota released (roll back); any other half-done unit finishes its remaining tear-down steps
// (roll forward) but creates nothing. That cleanup runs in a scope that cannot be cancelled.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  metricMeter,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  AssociateResult,
  ChainBreak,
  ChainLink,
  ChainResult,
  CreateVmInput,
  CreateVmResult,
  FailureBudget,
} from '../domain/activities';
import type { CreateVmStep, GroupPolicy, Obligation, Step } from '../planner/types';
import { BUILD_OPTIONS, QUOTA_OPTIONS, builds, chains, cheapSteps, quota } from './activities';
import type { InFlightStep, OperationFailure, OperationLimits, StepResult } from './types';

/** Creates per `createVms` activity: batch creates of about the same admission rank. */
const CREATE_BATCH = 10;
/** Chains per `enactChains` activity: chains ready at once, in launch order. */
const CHAIN_BATCH = 10;

/** A step to launch, with the links of its chain (itself first; just itself when it does not chain). */
interface Launch {
  step: Step;
  links: Step[];
}

/** How one step of a batch ended: its value, a failure for good, or a retryable one (run it again alone). */
type BatchOutcome<T> =
  | { ok: T }
  | { failed: { type: string | null; message: string; broke?: ChainBreak | null } }
  | { alone: string };

/** Which kind of step may follow which in a chain. */
const CHAINS_INTO: Partial<Record<Step['kind'], Step['kind']>> = {
  'associate-vm-to-instance': 'delete-server',
  'delete-server': 'release-quota',
};

export type EnactOutcome = 'done' | 'stopped' | 'failed' | 'drained';

interface Unit {
  key: string;
  group: string;
  steps: Step[];
  admitted: boolean;
  /** Steps not done yet. */
  left: number;
  /** Ready steps waiting for the unit to be admitted. */
  held: Step[];
  /** Position within its group (canaries are the first ranks). */
  rank: number;
}

/** Admission state of one group: units in plan order, admitted strictly in that order. */
interface GroupState {
  policy: GroupPolicy;
  units: Unit[];
  canaries: number;
  next: number;
  active: number;
  done: number;
  canariesDone: number;
}

export interface EnactorContext {
  deployment: string;
  /** The operation component of create-vm's idempotency keys and tag (incarnation.ts keyedOperation). */
  operation: string;
  limits: OperationLimits;
  done: Set<string>;
  results: Map<string, StepResult>;
  /** When a persistent failure ends a step (the manifest's `update:`); absent: the activities' default. */
  budget?: FailureBudget;
}

export class Enactor {
  readonly inFlight = new Map<string, Step>();
  failure: OperationFailure | null = null;
  private stopRequested = false;
  private drainRequested = false;
  private ticks = 0;
  private readonly units = new Map<string, Unit>();
  private readonly unitOf = new Map<string, Unit>();
  private readonly stages: GroupState[][];
  // Incremental bookkeeping, so each completion costs O(its dependents), not a rescan of the DAG.
  private readonly position = new Map<string, number>();
  private readonly waiting = new Map<string, number>();
  private readonly dependents = new Map<string, Step[]>();
  private readonly ready: MinHeap<Step>;
  private readonly groupOf = new Map<string, GroupState>();
  private doneCount = 0;
  /** Batch creates in flight, and how many may be: twice `maxConcurrentSteps` (ten to an activity). */
  private batchCreatesInFlight = 0;
  private readonly batchCreateSlots: number;
  /** Activities in flight (a chain or a batch is one): what fills the `maxConcurrentSteps` slots. */
  private activitiesInFlight = 0;
  private readonly cheap = cheapSteps();
  /** Batch creates and chains that failed in a batch: they run again, each as an activity of its own. */
  private readonly alone = new Set<string>();
  /** converge_steps{kind,result} (src/workers/metrics.ts); the SDK drops it during replay. */
  private readonly stepsMetric = metricMeter.createCounter(
    'converge_steps',
    'steps',
    'Steps ended, by kind and result',
  );
  /** The first steps of the chains in flight (bounded by `maxConcurrentSteps`). */
  private readonly chainHeads = new Set<string>();

  constructor(
    private readonly obligation: Obligation,
    private readonly ctx: EnactorContext,
  ) {
    const order = new Map(obligation.instances.map((p, i) => [p.instance, i] as const));
    for (const step of obligation.steps) {
      let unit = this.units.get(step.unit);
      if (!unit) {
        unit = { key: step.unit, group: step.group, steps: [], admitted: false, left: 0, held: [], rank: 0 };
        this.units.set(step.unit, unit);
      }
      unit.steps.push(step);
      this.unitOf.set(step.id, unit);
    }
    // Units in plan order (group, then index), so canaries are the lowest indices; ties by key.
    const sorted = [...this.units.values()].sort(
      (a, b) => (order.get(a.key) ?? 1e9) - (order.get(b.key) ?? 1e9) || (a.key < b.key ? -1 : 1),
    );
    this.units.clear();
    for (const u of sorted) this.units.set(u.key, u);

    // Launch order is (unit in plan order, step in topological order): the same order in which a
    // full rescan would find ready steps, so histories replay whichever bookkeeping recorded them.
    let pos = 0;
    for (const u of this.units.values()) for (const step of u.steps) this.position.set(step.id, pos++);
    this.ready = new MinHeap<Step>((a, b) => (this.position.get(a.id) ?? 0) - (this.position.get(b.id) ?? 0));

    const policies = new Map(obligation.groups.map((g) => [g.name, g] as const));
    for (const u of this.units.values()) {
      const policy = policies.get(u.group);
      if (!policy) {
        u.admitted = true; // cleanup of orphans and strays: no policy schedules it
        continue;
      }
      let g = this.groupOf.get(u.group);
      if (!g) {
        g = { policy, units: [], canaries: 0, next: 0, active: 0, done: 0, canariesDone: 0 };
        this.groupOf.set(u.group, g);
      }
      u.rank = g.units.length;
      g.units.push(u);
    }
    for (const g of this.groupOf.values()) g.canaries = Math.min(g.policy.canaries, g.units.length);
    this.stages = stagesOf(obligation.groups).map((names) =>
      names.map((n) => this.groupOf.get(n)).filter((g): g is GroupState => g !== undefined),
    );

    this.orderByRank();
    this.interleaveBatchCreates(pos);
    this.batchCreateSlots = 2 * ctx.limits.maxConcurrentSteps;

    for (const step of obligation.steps) {
      for (const d of step.dependsOn) {
        const list = this.dependents.get(d);
        if (list) list.push(step);
        else this.dependents.set(d, [step]);
      }
    }
    for (const u of this.units.values()) {
      u.left = u.steps.filter((st) => !ctx.done.has(st.id)).length;
      this.doneCount += u.steps.length - u.left;
      if (u.left === 0) this.unitFinished(u);
    }
    for (const step of obligation.steps) {
      if (ctx.done.has(step.id)) continue;
      const open = step.dependsOn.filter((d) => !ctx.done.has(d)).length;
      this.waiting.set(step.id, open);
      if (open === 0) this.markReady(step);
    }
  }

  /**
   * Launch positions by rank: cleanup units first, in plan order, then stage by stage
   * the units of rank 0 of every group, then rank 1, and so on; a unit's steps stay in topological order.
   */
  private orderByRank(): void {
    let pos = 0;
    const place = (u: Unit): void => {
      for (const step of u.steps) this.position.set(step.id, pos++);
    };
    for (const u of this.units.values()) if (!this.groupOf.has(u.group)) place(u);
    for (const stage of this.stages) {
      const ranks = Math.max(0, ...stage.map((g) => g.units.length));
      for (let rank = 0; rank < ranks; rank++) {
        for (const g of stage) {
          const u = g.units[rank];
          if (u) place(u);
        }
      }
    }
  }

  /**
   * Batch creates launch in the order their units will be admitted: stage by stage, then round-robin
   * over the stage's groups by rank (canaries first). In plan order, under maxConcurrentSteps the
   * first groups took every slot and the last groups' canaries waited for a second wave of builds.
   * They come after every other step, which can only be ready once its unit is admitted.
   */
  private interleaveBatchCreates(after: number): void {
    const groupsPerStage = Math.max(1, ...this.stages.map((st) => st.length));
    const maxRank = Math.max(1, ...[...this.groupOf.values()].map((g) => g.units.length));
    this.stages.forEach((stage, si) =>
      stage.forEach((g, gi) => {
        for (const u of g.units) {
          for (const step of u.steps) {
            if (!isBatchCreate(step)) continue;
            this.position.set(step.id, after + (si * maxRank + u.rank) * groupsPerStage + gi);
          }
        }
      }),
    );
  }

  get stepsDone(): number {
    return this.doneCount;
  }

  get remaining(): string[] {
    return this.obligation.steps.filter((s) => !this.ctx.done.has(s.id)).map((s) => s.id);
  }

  inFlightView(): InFlightStep[] {
    return [...this.inFlight.values()].map((s) => ({ id: s.id, kind: s.kind, summary: s.summary }));
  }

  /** Finish in-flight steps, start no new ones, then clean up to a consistent state. */
  stop(): void {
    this.stopRequested = true;
    this.ticks++;
  }

  get stopped(): boolean {
    return this.stopRequested;
  }

  async run(onProgress: () => void): Promise<EnactOutcome> {
    for (;;) {
      if (!this.stopRequested && !this.failure && !this.drainRequested) {
        if (workflowInfo().historyLength > this.ctx.limits.historyThreshold) this.drainRequested = true;
        else this.startReady();
      }
      onProgress();
      if (this.inFlight.size === 0) break;
      const seen = this.ticks;
      await condition(() => this.ticks !== seen);
    }
    if (this.failure || this.stopRequested) {
      await CancellationScope.nonCancellable(() => this.cleanUp(onProgress));
      return this.failure ? 'failed' : 'stopped';
    }
    if (this.drainRequested && this.remaining.length > 0) return 'drained';
    return this.remaining.length === 0 ? 'done' : 'failed';
  }

  private startReady(): void {
    this.admit();
    while (this.activitiesInFlight < this.ctx.limits.maxConcurrentSteps) {
      const step = this.ready.pop();
      if (!step) return;
      if (isBatchCreate(step) && this.batchCreatesInFlight >= this.batchCreateSlots) {
        // Batch creates launch after every other ready step (interleaveBatchCreates), so the steps
        // left in the heap are batch creates too: they wait for a create to finish.
        this.ready.push(step);
        return;
      }
      const links = this.chainFrom(step);
      const batchedChain = links.length > 1;
      if (batchedChain && this.chainHeads.size >= this.ctx.limits.maxConcurrentSteps) {
        // Bounded like the steps they are: the chain waits for one in flight to end.
        this.ready.push(step);
        return;
      }
      if (isBatchCreate(step) && !this.alone.has(step.id)) this.launchBatch(this.batchFrom(step));
      else if (batchedChain && !this.alone.has(step.id)) this.launchChains(this.chainsFrom({ step, links }));
      else this.launch(step, links);
    }
  }

  /**
   * `first` and the ready steps after it in launch order that `pick` takes, up to `room`. A step it
   * passes keeps its place (CHAIN_BATCH of them at most); the one it stops at ends the search.
   */
  private gather(first: Step, room: number, pick: (next: Step) => 'take' | 'pass' | 'stop'): Step[] {
    const taken = [first];
    const passed: Step[] = [];
    while (taken.length < room && passed.length < CHAIN_BATCH) {
      const next = this.ready.pop();
      if (!next) break;
      const verdict = pick(next);
      if (verdict === 'take') taken.push(next);
      else passed.push(next);
      if (verdict === 'stop') break;
    }
    for (const step of passed) this.ready.push(step);
    return taken;
  }

  /**
   * `head` and the chains after it in launch order, as many as a batch and the chain bound allow. Steps
   * that are not chains (a disk unit's steps, between the chains of the groups without disks) keep their
   * places and launch right after; batch creates come after everything else, so the search ends there.
   */
  private chainsFrom(first: Launch): Launch[] {
    const linksOf = new Map([[first.step, first.links]]);
    const room = Math.min(CHAIN_BATCH, this.ctx.limits.maxConcurrentSteps - this.chainHeads.size);
    const heads = this.gather(first.step, room, (next) => {
      if (isBatchCreate(next)) return 'stop';
      const links = this.alone.has(next.id) ? [] : this.chainFrom(next);
      if (links.length < 2) return 'pass';
      linksOf.set(next, links);
      return 'take';
    });
    return heads.map((step) => ({ step, links: linksOf.get(step) ?? [step] }));
  }

  /** `step` and the batch creates after it in launch order, as many as a batch and the free slots allow. */
  private batchFrom(step: CreateVmStep): CreateVmStep[] {
    const room = Math.min(CREATE_BATCH, this.batchCreateSlots - this.batchCreatesInFlight);
    return this.gather(step, room, (next) =>
      isBatchCreate(next) && !this.alone.has(next.id) ? 'take' : 'stop',
    ).filter(isBatchCreate);
  }

  /** Used by the cleanup only (a rare, one-off pass). */
  private isReady(step: Step): boolean {
    return (
      !this.ctx.done.has(step.id) &&
      !this.inFlight.has(step.id) &&
      step.dependsOn.every((d) => this.ctx.done.has(d))
    );
  }

  /** A step whose dependencies are done runs now if it is a batch create or its unit is admitted. */
  private markReady(step: Step): void {
    const unit = this.unitOf.get(step.id);
    if (!unit || unit.admitted || isBatchCreate(step)) this.ready.push(step);
    else unit.held.push(step);
  }

  private completed(step: Step): void {
    this.doneCount++;
    for (const next of this.dependents.get(step.id) ?? []) {
      const open = (this.waiting.get(next.id) ?? 1) - 1;
      this.waiting.set(next.id, open);
      if (open === 0 && !this.ctx.done.has(next.id)) this.markReady(next);
    }
    const unit = this.unitOf.get(step.id);
    if (unit && --unit.left === 0) this.unitFinished(unit);
  }

  private unitFinished(unit: Unit): void {
    const g = this.groupOf.get(unit.group);
    if (!g) return;
    g.done++;
    if (unit.admitted) g.active--;
    if (unit.rank < g.canaries) g.canariesDone++;
  }

  /**
   * Admit units group by group: the canaries first (all must finish), then max_in_flight at a time;
   * a stage starts once every unit of the stages before it is done. Units are admitted in plan order,
   * so a pointer per group is enough.
   */
  private admit(): void {
    for (const stage of this.stages) {
      let stageDone = true;
      for (const g of stage) {
        const canariesDone = g.canariesDone === g.canaries;
        const eligible = canariesDone ? g.units.length : g.canaries;
        const limit = canariesDone ? g.policy.maxInFlight : Math.min(g.policy.canaries, g.policy.maxInFlight);
        while (g.active < limit && g.next < eligible) {
          const u = g.units[g.next++];
          // A unit finished before a continue-as-new needs no slot.
          if (u && !u.admitted && u.left > 0) {
            u.admitted = true;
            g.active++;
            for (const step of u.held.splice(0)) this.ready.push(step);
          }
        }
        if (g.done < g.units.length) stageDone = false;
      }
      if (!stageDone) return;
    }
  }

  private unitDone(u: Unit): boolean {
    return u.left === 0;
  }

  /**
   * The steps that run with `step` in one activity, `step` first: each next link is the sole dependent
   * of the one before, of a kind that chains (CHAINS_INTO), in the same unit, and waits for nothing
   * else. Only the first link is in flight; the others are done when the chain is.
   */
  private chainFrom(step: Step): Step[] {
    const links = [step];
    for (let last = step; ;) {
      const after = this.dependents.get(last.id) ?? [];
      const next = after[0];
      if (
        after.length !== 1 ||
        next === undefined ||
        next.kind !== CHAINS_INTO[last.kind] ||
        next.unit !== last.unit ||
        next.dependsOn.length !== 1 ||
        this.ctx.done.has(next.id)
      )
        return links;
      links.push(next);
      last = next;
    }
  }

  private launch(step: Step, links = this.chainFrom(step)): void {
    const chained = links.length > 1;
    this.hold(step, chained);
    // Callbacks, not an async function per step: the SDK's promise hook captures a stack trace for
    // every promise a workflow creates, and two async frames with their awaits were about half of
    // a step's promises (a third of the workflow thread's CPU went to those captures at 1,000 VMs).
    // The commands are the same: launches happen only in run(), after every completion has settled.
    this.dispatch<unknown>(
      () => (chained ? this.callChain(links) : this.call(step)),
      (raw) =>
        this.settled(step, () =>
          chained ? this.linksSucceeded(links, (raw as ChainResult).results) : this.succeeded(step, raw),
        ),
      (err) => this.settled(step, () => this.failed(step, links, err)),
    );
  }

  /**
   * Starts one activity and holds its slot until it ends; the slot is
   * given back before its steps settle, so the next launch in run() sees it free.
   */
  private dispatch<T>(start: () => Promise<T>, ok: (raw: T) => void, failed: (err: unknown) => void): void {
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.activitiesInFlight++;
    pending.then(
      (raw) => {
        this.activitiesInFlight--;
        ok(raw);
      },
      (err: unknown) => {
        this.activitiesInFlight--;
        failed(err);
      },
    );
  }

  /** One `createVms` activity for the batch; each create settles on its own outcome. */
  private launchBatch(batch: CreateVmStep[]): void {
    const summary = `${batch.length} creates: ${batch.map((s) => s.summary).join('; ')}`;
    this.launchMany(
      batch.map((step) => ({ step, links: [step] })),
      () =>
        builds.createVms.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
          { creates: batch.map((s) => this.createInput(s)) },
        ]),
      ({ results }) => results.map((o) => ('built' in o ? { ok: o.built } : o)),
      ({ step }, built) => this.succeeded(step, built),
    );
  }

  /** One `enactChains` activity for the chains; each settles on its own outcome. */
  private launchChains(launches: Launch[]): void {
    const summary = `${launches.length} chains: ${launches.map(({ links }) => links.map((s) => s.summary).join(', then ')).join('; ')}`;
    this.launchMany(
      launches,
      () =>
        chains.enactChains.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
          { chains: launches.map(({ links }) => ({ links: links.map((s) => this.linkOf(s)) })) },
        ]),
      ({ results }) => results.map((o) => ('done' in o ? { ok: o.done.results } : o)),
      ({ links }, results) => this.linksSucceeded(links, results),
    );
  }

  /**
   * One activity for several launches (a create batch, a chain batch; one launch goes alone), each
   * settling on its own outcome: done, failed for good (past the links done before it, for a chain),
   * or run again alone, as an activity of its own with its retries.
   */
  private launchMany<R, T>(
    launches: Launch[],
    start: () => Promise<R>,
    outcomes: (raw: R) => Array<BatchOutcome<T>>,
    done: (launch: Launch, value: T) => void,
  ): void {
    const [only] = launches;
    if (only === undefined) return;
    if (launches.length === 1) return this.launch(only.step, only.links);
    for (const { step, links } of launches) this.hold(step, links.length > 1);
    this.dispatch<R>(
      start,
      (raw) => {
        const each = outcomes(raw);
        launches.forEach((launch, i) => {
          const { step, links } = launch;
          const outcome = each[i];
          if (outcome !== undefined && 'ok' in outcome) {
            this.settled(step, () => done(launch, outcome.ok));
          } else if (outcome !== undefined && 'failed' in outcome) {
            const { type, message, broke } = outcome.failed;
            const err = ApplicationFailure.nonRetryable(message, type);
            this.settled(step, () => this.failed(step, links, err, broke ?? null));
          } else {
            this.settled(step, () => {
              this.alone.add(step.id);
              this.ready.push(step);
            });
          }
        });
      },
      (err) => launches.forEach(({ step, links }) => this.settled(step, () => this.failed(step, links, err))),
    );
  }

  /** Counts a step in flight, in every bound it takes part in; `settled` gives them back. */
  private hold(step: Step, chained: boolean): void {
    if (isBatchCreate(step)) this.batchCreatesInFlight++;
    if (chained) this.chainHeads.add(step.id);
    this.inFlight.set(step.id, step);
  }

  private settled(step: Step, outcome: () => void): void {
    try {
      outcome();
    } finally {
      if (isBatchCreate(step)) this.batchCreatesInFlight--;
      this.chainHeads.delete(step.id);
      this.inFlight.delete(step.id);
      this.ticks++;
    }
  }

  private succeeded(step: Step, raw: unknown): void {
    this.linksSucceeded([step], [raw]);
  }

  /** Records a chain's finished links, each with its own result, in order. */
  private linksSucceeded(links: Step[], raws: unknown[]): void {
    // All done first: completing one link must not make the next one ready to launch again.
    for (const step of links) this.ctx.done.add(step.id);
    links.forEach((step, i) => {
      this.stepsMetric.add(1, { kind: step.kind, result: 'done' });
      const result = this.resultOf(step, raws[i]);
      if (result) this.ctx.results.set(step.id, result);
      this.completed(step);
    });
  }

  /** A failed step, or a chain broken at a link: the links before the break are done. */
  private failed(
    step: Step,
    links: Step[],
    err: unknown,
    broke = links.length > 1 ? chainBreak(err) : null,
  ): void {
    const at = broke ? Math.min(broke.completed, links.length - 1) : 0;
    if (broke) this.linksSucceeded(links.slice(0, at), broke.results);
    this.stepsMetric.add(1, { kind: (links[at] ?? step).kind, result: 'failed' });
    this.failure ??= describeFailure(links[at] ?? step, err);
  }

  /** Starts one activity for the whole chain; its summary names every link. */
  private callChain(links: Step[]): Promise<ChainResult> {
    const summary = links.map((s) => s.summary).join('; then ');
    return chains.enactChain.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
      { links: links.map((s) => this.linkOf(s)) },
    ]);
  }

  /** The input of an associate, delete-server or release-quota step: alone or as a chain's link. */
  private linkOf(step: Step): ChainLink {
    switch (step.kind) {
      case 'associate-vm-to-instance':
        return {
          kind: step.kind,
          input: {
            deployment: this.ctx.deployment,
            serverId: this.serverOf(step),
            instanceId: step.instanceId,
            disk: step.disk,
            ...(this.ctx.budget ? { budget: this.ctx.budget } : {}),
          },
        };
      case 'delete-server':
        return { kind: step.kind, input: { serverId: step.serverId } };
      case 'release-quota':
        return { kind: step.kind, input: { allocationId: step.allocationId, serverId: step.serverId } };
      default:
        throw ApplicationFailure.nonRetryable(`a ${step.kind} step does not chain`, 'Internal');
    }
  }

  /** Starts a chainable step on its own, with the same input it would have as a link. */
  private callLink(summary: string, link: ChainLink): Promise<unknown> {
    switch (link.kind) {
      case 'associate-vm-to-instance':
        return this.cheap.associateVmToInstance(summary, link.input);
      case 'delete-server':
        return builds.deleteServer.executeWithOptions({ ...BUILD_OPTIONS, summary }, [link.input]);
      case 'release-quota':
        return this.cheap.releaseQuota(summary, link.input);
    }
  }

  /** Starts the step's activity; its promise resolves with the activity's own result (see resultOf). */
  private call(step: Step): Promise<unknown> {
    switch (step.kind) {
      case 'create-vm':
        return builds.createVm.executeWithOptions({ ...BUILD_OPTIONS, summary: step.summary }, [
          this.createInput(step),
        ]);
      case 'associate-vm-to-instance':
      case 'delete-server':
      case 'release-quota':
        return this.callLink(step.summary, this.linkOf(step));
      case 'detach-disk':
        return this.cheap.detachDisk(step.summary, { volumeId: step.volumeId, serverId: step.serverId });
      case 'delete-disk':
        return this.cheap.deleteDisk(step.summary, { volumeId: step.volumeId });
    }
  }

  private createInput(step: CreateVmStep): CreateVmInput {
    return {
      deployment: this.ctx.deployment,
      operation: this.ctx.operation,
      claim: step.claim,
      pool: step.pool,
      quota: step.quota,
      spec: step.spec,
      buildDeadlineMs: this.ctx.limits.buildDeadlineMs,
      ...(this.ctx.budget ? { budget: this.ctx.budget } : {}),
    };
  }

  /** What a finished step leaves for later steps and the records: the VM it made or associated. */
  private resultOf(step: Step, raw: unknown): StepResult | null {
    switch (step.kind) {
      case 'create-vm': {
        const r = raw as CreateVmResult;
        return { serverId: r.serverId, allocationId: r.allocationId };
      }
      case 'associate-vm-to-instance':
        return { serverId: this.serverOf(step), volumeId: (raw as AssociateResult).volumeId };
      default:
        return null;
    }
  }

  /** The server the unit's create-vm made; a step that needs one cannot run without it. */
  private serverOf(step: Step & { createStep: string }): string {
    const serverId = this.ctx.results.get(step.createStep)?.serverId;
    if (!serverId)
      throw ApplicationFailure.nonRetryable(`no server recorded for ${step.createStep}`, 'Internal');
    return serverId;
  }

  /**
   * After a stop or failure: roll back hot_swap VMs that were created but never associated; roll every
   * other half-done unit forward through its tear-down steps. Creates nothing new.
   */
  private async cleanUp(onProgress: () => void): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (const unit of this.units.values()) {
      const started = unit.steps.some((s) => this.ctx.done.has(s.id));
      if (!started || this.unitDone(unit)) continue;
      const create = unit.steps.find((s) => s.kind === 'create-vm');
      const onlyCreated = unit.steps.every((s) => s === create || !this.ctx.done.has(s.id));
      if (create && create.dependsOn.length === 0 && onlyCreated && this.ctx.done.has(create.id)) {
        work.push(this.rollBack(create));
      } else {
        work.push(this.rollForward(unit, onProgress));
      }
    }
    await Promise.all(work);
  }

  private async rollBack(create: Step): Promise<void> {
    const made = this.ctx.results.get(create.id);
    if (!made?.serverId) return;
    const summary = `roll back ${create.instance}: delete unassociated VM ${made.serverId}`;
    await builds.deleteServer.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
      { serverId: made.serverId },
    ]);
    if (made.allocationId) {
      await quota.releaseQuota.executeWithOptions(
        { ...QUOTA_OPTIONS, summary: `roll back ${create.instance}: release quota` },
        [{ allocationId: made.allocationId, serverId: made.serverId }],
      );
    }
    this.ctx.results.delete(create.id);
  }

  private async rollForward(unit: Unit, onProgress: () => void): Promise<void> {
    for (;;) {
      const next = unit.steps.find(
        (s) => this.isReady(s) && (s.kind !== 'create-vm' || this.ctx.done.has(s.id)),
      );
      if (!next) return;
      try {
        this.succeeded(next, await this.call(next));
      } catch (err) {
        this.failure ??= describeFailure(next, err);
        return;
      }
      onProgress();
    }
  }
}

/** A create-vm with no dependencies may start before its unit is admitted: creates go in batch. */
function isBatchCreate(step: Step): step is CreateVmStep {
  return step.kind === 'create-vm' && step.dependsOn.length === 0;
}

/** Serial groups start a new stage; a non-serial group joins the stage before it. */
export function stagesOf(groups: GroupPolicy[]): string[][] {
  const stages: string[][] = [];
  for (const g of groups) {
    const last = stages[stages.length - 1];
    if (last && !g.serial) last.push(g.name);
    else stages.push([g.name]);
  }
  return stages;
}

/** The links a chain finished before a non-retryable failure (enact-chain.ts), if it says so. */
function chainBreak(err: unknown): ChainBreak | null {
  const cause = err instanceof ActivityFailure ? err.cause : null;
  if (!(cause instanceof ApplicationFailure)) return null;
  const d = cause.details?.[0] as Partial<ChainBreak> | null | undefined;
  return typeof d?.completed === 'number' && Array.isArray(d.results) ? (d as ChainBreak) : null;
}

function describeFailure(step: Step, err: unknown): OperationFailure {
  let cause: unknown = err;
  if (err instanceof ActivityFailure && err.cause) cause = err.cause;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? null) : null;
  const message = cause instanceof Error ? cause.message : String(cause);
  return { step: step.id, message: `${step.summary}: ${message}`, type };
}

/** A binary min-heap: the ready steps, lowest launch position first. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as T, a[m] as T) < 0) m = l;
        if (r < a.length && this.less(a[r] as T, a[m] as T) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as T, a[i] as T];
        i = m;
      }
    }
    return top;
  }
}
