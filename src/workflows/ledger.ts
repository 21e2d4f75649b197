// What an enactment knows of its steps: done (with results), in flight, the first failure, and a
// tick that moves whenever any of it changes (the enactor's loop waits on it). Every outcome of a
// step, whatever carried it (alone, a chain, a batch, the cleanup), is written here, so the rollout
// hears of every completion and the records see every result.
import { ActivityFailure, ApplicationFailure, metricMeter } from '@temporalio/workflow';
import type { ChainBreak } from '../domain/activities';
import type { Rollout } from '../planner/rollout';
import type { Step } from '../planner/types';
import type { StepActivities } from './step-activities';
import type { InFlightStep, OperationFailure, StepResult } from './types';

export class Ledger {
  readonly inFlight = new Map<string, Step>();
  /**
   * Steps whose activity a stopped enactment cancelled while it was retrying (Transport.abandon):
   * however it ends, unless done, it is neither done nor the operation's failure. The cleanup
   * sweeps what an abandoned create may have left.
   */
  readonly abandoned = new Set<string>();
  failure: OperationFailure | null = null;
  /** Moves on every settled step and every stop request. */
  ticks = 0;
  /** converge_steps{kind,result} (src/workers/metrics.ts); the SDK drops it during replay. */
  private readonly stepsMetric = metricMeter.createCounter(
    'converge_steps',
    'steps',
    'Steps ended, by kind and result',
  );

  constructor(
    readonly rollout: Rollout,
    readonly done: Set<string>,
    readonly results: Map<string, StepResult>,
    private readonly activities: StepActivities,
  ) {}

  /** Records a chain's finished links (or one step), each with its own result, in order. */
  succeeded(links: Step[], raws: unknown[]): void {
    // All done first: completing one link must not make the next one ready to launch again.
    for (const step of links) this.done.add(step.id);
    links.forEach((step, i) => {
      this.stepsMetric.add(1, { kind: step.kind, result: 'done' });
      const result = this.activities.resultOf(step, raws[i]);
      if (result) this.results.set(step.id, result);
      this.rollout.completed([step]);
    });
  }

  /** A failed step, or a chain broken at a link: the links before the break are done. */
  failed(step: Step, links: Step[], err: unknown, broke = links.length > 1 ? chainBreak(err) : null): void {
    if (this.abandoned.has(step.id)) {
      this.stepsMetric.add(1, { kind: step.kind, result: 'abandoned' });
      return;
    }
    const at = broke ? Math.min(broke.completed, links.length - 1) : 0;
    if (broke) this.succeeded(links.slice(0, at), broke.results);
    const failedStep = links[at] ?? step;
    this.stepsMetric.add(1, { kind: failedStep.kind, result: 'failed' });
    this.rollout.failed(failedStep);
    this.failure ??= describeFailure(failedStep, err);
  }

  /** Not done, not in flight, every dependency done (the cleanup's one-off question). */
  isReady(step: Step): boolean {
    return (
      !this.done.has(step.id) && !this.inFlight.has(step.id) && step.dependsOn.every((d) => this.done.has(d))
    );
  }

  inFlightView(): InFlightStep[] {
    return [...this.inFlight.values()].map((s) => ({ id: s.id, kind: s.kind, summary: s.summary }));
  }
}

/** The links a chain finished before a non-retryable failure (enact-chain.ts), if it says so. */
function chainBreak(err: unknown): ChainBreak | null {
  const cause = err instanceof ActivityFailure ? err.cause : null;
  if (!(cause instanceof ApplicationFailure)) return null;
  const d = cause.details?.[0] as Partial<ChainBreak> | null | undefined;
  return typeof d?.completed === 'number' && Array.isArray(d.results) ? (d as ChainBreak) : null;
}

export function describeFailure(step: Step, err: unknown): OperationFailure {
  let cause: unknown = err;
  if (err instanceof ActivityFailure && err.cause) cause = err.cause;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? null) : null;
  const message = cause instanceof Error ? cause.message : String(cause);
  return { step: step.id, message: `${step.summary}: ${message}`, type };
}
