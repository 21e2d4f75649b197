// The enactor: runs an obligation through activities until it is done, stopped or failed, and ends
// consistent. It is a loop over three questions, each answered elsewhere:
// - which steps may start now: the rollout (src/planner/rollout.ts: DAG edges, canaries,
//   max_in_flight, serial stages);
// - in what order and how they travel: the launch queue (launch-order.ts) and the transport
//   (transport.ts: single, chain, batch; slots);
// - how to end consistent after a stop or failure: the cleanup (cleanup.ts: roll back, roll forward).
// It never abandons a step it started: once stopped it waits for every step in flight, then cleans up.
// It drains (starts nothing, waits) when the history grows past the threshold, for a continue-as-new.
import { CancellationScope, condition, workflowInfo } from '@temporalio/workflow';
import { Rollout } from '../planner/rollout';
import type { Obligation, Step } from '../planner/types';
import { cleanUp } from './cleanup';
import { LaunchQueue } from './launch-order';
import { Ledger } from './ledger';
import { StepActivities } from './step-activities';
import { Transport } from './transport';
import type { FailureBudget } from '../domain/activities';
import type { InFlightStep, OperationFailure, OperationLimits, StepResult } from './types';

export type EnactOutcome = 'done' | 'stopped' | 'failed' | 'drained';

export interface EnactorContext {
  deployment: string;
  /** The operation component of create-vm's idempotency keys and tag (incarnation.ts keyedOperation). */
  operation: string;
  limits: OperationLimits;
  /** Steps done (carried across continue-as-new); the enactor adds to it. */
  done: Set<string>;
  results: Map<string, StepResult>;
  /** When a persistent failure ends a step (the manifest's `update:`); absent: the activities' default. */
  budget?: FailureBudget;
}

export class Enactor {
  private readonly rollout: Rollout;
  private readonly ledger: Ledger;
  private readonly queue: LaunchQueue;
  private readonly activities: StepActivities;
  private readonly transport: Transport;
  private stopRequested = false;
  private drainRequested = false;

  constructor(
    private readonly obligation: Obligation,
    private readonly ctx: EnactorContext,
  ) {
    this.rollout = new Rollout(obligation, ctx.done);
    this.activities = new StepActivities(ctx);
    this.ledger = new Ledger(this.rollout, ctx.done, ctx.results, this.activities);
    this.queue = new LaunchQueue(this.rollout.plan, obligation.steps.length);
    this.transport = new Transport(this.ledger, this.queue, this.activities, ctx.limits.maxConcurrentSteps);
  }

  get failure(): OperationFailure | null {
    return this.ledger.failure;
  }

  get stepsDone(): number {
    return this.rollout.stepsDone;
  }

  get remaining(): string[] {
    return this.obligation.steps.filter((s) => !this.ctx.done.has(s.id)).map((s) => s.id);
  }

  inFlightView(): InFlightStep[] {
    return this.ledger.inFlightView();
  }

  /** Finish in-flight steps, start no new ones, then clean up to a consistent state. */
  stop(): void {
    this.stopRequested = true;
    this.rollout.cancel();
    this.ledger.ticks++;
  }

  /**
   * Once stopped, a step in a retry loop (an outage, an address nobody frees) is not waited for: its
   * activity is cancelled and the step left not done; the cleanup sweeps what a create may have left.
   * Called on the stop and on every retry reported after it.
   */
  abandonRetrying(isRetrying: (step: Step) => boolean): void {
    if (!this.stopRequested) return;
    const stuck = [...this.ledger.inFlight.values()].filter(isRetrying).map((s) => s.id);
    if (stuck.length > 0) this.transport.abandon(stuck);
  }

  async run(onProgress: () => void): Promise<EnactOutcome> {
    for (;;) {
      if (!this.stopRequested && !this.ledger.failure && !this.drainRequested) {
        if (workflowInfo().historyLength > this.ctx.limits.historyThreshold) this.drainRequested = true;
        else this.startReady();
      }
      onProgress();
      if (this.ledger.inFlight.size === 0) break;
      const seen = this.ledger.ticks;
      await condition(() => this.ledger.ticks !== seen);
    }
    if (this.ledger.failure || this.stopRequested) {
      await CancellationScope.nonCancellable(() =>
        cleanUp(this.rollout.plan, this.ledger, this.activities, onProgress, this.ctx),
      );
      return this.ledger.failure ? 'failed' : 'stopped';
    }
    if (this.drainRequested && this.remaining.length > 0) return 'drained';
    return this.remaining.length === 0 ? 'done' : 'failed';
  }

  /** What the rollout lets start joins the launch queue; the transport launches while slots are free. */
  private startReady(): void {
    for (const step of this.rollout.next()) this.queue.push(step);
    this.transport.launchReady();
  }
}
