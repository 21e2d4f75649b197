// What an operation shows while it runs: its phase (also the ConvergePhase search attribute), the
// plan's summary, step progress and the failure, as the `progress` query and the Temporal UI's
// current details (markdown).
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Obligation, Step } from '../planner/types';
import type { Enactor } from './enactor';
import { SEARCH_ATTRIBUTES } from './messages';
import { operationSummary } from './views';
import type { OperationFailure, OperationInput, OperationProgress, Phase, PlanView } from './types';
import { Waits } from './waiting';

export const SEARCH_ATTRIBUTE_KEYS = {
  deployment: { name: SEARCH_ATTRIBUTES.deployment, type: 'KEYWORD' },
  operation: { name: SEARCH_ATTRIBUTES.operation, type: 'KEYWORD' },
  phase: { name: SEARCH_ATTRIBUTES.phase, type: 'KEYWORD' },
} as const;

export class Progress {
  phase: Phase = 'observing';
  plan: PlanView | null = null;
  enactor: Enactor | null = null;
  cancelRequested = false;
  failure: OperationFailure | null = null;
  /** What activities that keep failing retryably reported (stepRetrying), shown while they run. */
  readonly waits = new Waits();
  private obligation: Obligation | null = null;
  private stepsById: Map<string, Step> | null = null;

  constructor(private readonly input: OperationInput) {}

  planned(obligation: Obligation, plan: PlanView): void {
    this.obligation = obligation;
    this.plan = plan;
  }

  view(): OperationProgress {
    const inFlight = this.enactor?.inFlightView() ?? [];
    return {
      operation: this.input.operation,
      kind: this.input.kind,
      phase: this.phase,
      stepsTotal: this.plan?.steps.length ?? 0,
      stepsDone: this.enactor?.stepsDone ?? 0,
      inFlight,
      waiting: this.waits.current(this.phase, inFlight, (id) => this.stepOf(id), Date.now()),
      summary: this.plan?.summary ?? null,
      cancelRequested: this.cancelRequested,
      failure: this.failure ?? this.enactor?.failure ?? null,
    };
  }

  enter(next: Phase): void {
    if (next !== this.phase) this.waits.clearReads();
    this.phase = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.phase, value: next }]);
    this.show();
  }

  /** The UI's current details: kind, phase, plan summary, steps done and in flight, the failure. */
  show(): void {
    const p = this.view();
    const what = operationSummary(this.input.kind, this.input.deployment, this.plan);
    const lines = [`**${what}** (${this.input.operation}): ${p.phase}`];
    if (this.plan?.reason) lines.push(`why: ${this.plan.reason}`);
    if (this.plan) lines.push(`keep: ${this.plan.summary.keep}`);
    if (p.stepsTotal)
      lines.push(`steps: ${p.stepsDone}/${p.stepsTotal} done, ${p.inFlight.length} in flight`);
    for (const s of p.inFlight.slice(0, 5)) lines.push(`- ${s.summary}`);
    if (p.waiting.length > 0) lines.push(`waiting (${p.waiting.length}):`);
    for (const w of p.waiting.slice(0, 5)) lines.push(`- ${w.line}`);
    if (p.failure) lines.push(`failed: ${p.failure.message}`);
    setCurrentDetails(lines.join('\n'));
  }

  private stepOf(id: string): Step | undefined {
    if (!this.obligation) return undefined;
    this.stepsById ??= new Map(this.obligation.steps.map((s) => [s.id, s] as const));
    return this.stepsById.get(id);
  }
}
