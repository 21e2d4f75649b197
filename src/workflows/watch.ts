// The watch: while the deployment has instances and no operation runs, one long-running activity looks
// at the cloud every interval and returns only when the status projection changed (or after a bound,
// or when a grace period ends). The workflow derives the events (planner/changes.ts), logs them, and
// lets the resurrector decide. When an operation starts, the pass is cancelled: the operation
// observes for itself, and its result is the truth the next pass starts from.
import {
  CancellationScope,
  condition,
  proxyActivities,
  setCurrentDetails,
  sleep,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ConvergeActivities, WatchCloudResult } from '../domain/activities';
import { projectionDigest, stateChanges, watchProjection } from '../planner';
import type { DeploymentEntity } from './deployment-entity';
import { entityDetails } from './views';

/** The patch id guarding the watch: entity histories recorded before it replay without one. */
export const WATCH_PATCH = 'converge-watch';
/** An idle pass returns after an hour: about six history events per idle deployment-hour. */
export const WATCH_BOUND_MS = 60 * 60_000;

const WATCH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  // A pass heartbeats every few seconds while it waits: a killed worker's pass is retried within this.
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s' },
};
const passes = proxyActivities<Pick<ConvergeActivities, 'watchCloud'>>(WATCH_OPTIONS);

type PassOutcome = { result: WatchCloudResult } | { failed: true } | null;

export class Watch {
  private stopping = false;
  /** When the resurrector wants to look again (a grace period ends), ms since epoch. */
  private wakeAt: number | null = null;

  constructor(private readonly entity: DeploymentEntity) {}

  stop(): void {
    this.stopping = true;
  }

  private get watchable(): boolean {
    const s = this.entity.state;
    return !s.deleted && s.manifest !== null && s.records.length > 0;
  }

  async run(): Promise<void> {
    this.entity.watching = true;
    try {
      for (;;) {
        await condition(() => this.stopping || (this.watchable && !this.entity.busy));
        if (this.stopping) return;
        const outcome = await this.pass();
        if (outcome === null) continue;
        if ('failed' in outcome) {
          // Not a cloud outage (the pass rides those out): do not spin, look again after an interval.
          await sleep(this.entity.healer.policy.intervalSeconds * 1000);
          continue;
        }
        this.after(outcome.result);
        setCurrentDetails(entityDetails(this.entity.state, this.entity.current));
      }
    } finally {
      this.entity.watching = false;
    }
  }

  /** One pass, cancelled as soon as an operation is accepted or the watch stops. */
  private async pass(): Promise<PassOutcome> {
    const { state } = this.entity;
    const intervalMs = this.entity.healer.policy.intervalSeconds * 1000;
    const bound = state.limits.watchBoundMs ?? WATCH_BOUND_MS;
    const returnAfterMs =
      this.wakeAt === null ? bound : Math.max(0, Math.min(bound, this.wakeAt - Date.now()));
    const input = {
      deployment: state.name,
      records: state.records,
      baseline: projectionDigest(state.projection),
      intervalMs,
      returnAfterMs,
    };
    let outcome: PassOutcome = null;
    const scope = new CancellationScope();
    const running = scope
      .run(() =>
        passes.watchCloud.executeWithOptions(
          { ...WATCH_OPTIONS, summary: `watch ${state.name} every ${intervalMs / 1000}s` },
          [input],
        ),
      )
      .then(
        (result) => {
          outcome = { result };
        },
        () => {
          outcome = { failed: true };
        },
      );
    await condition(() => outcome !== null || this.stopping || this.entity.busy);
    if (outcome === null) {
      scope.cancel();
      await running;
      return null;
    }
    return outcome;
  }

  /** A pass ended: log what changed, then let the resurrector decide (never while an operation runs). */
  private after(result: WatchCloudResult): void {
    const { state, log, healer } = this.entity;
    const before = state.projection;
    const now = Date.now();
    if (result.observed) {
      const next = watchProjection(state.name, result.observed, state.records);
      log.append(stateChanges(before, next, log.context(new Date(now).toISOString())));
      state.projection = next;
    }
    const decision = healer.seen(before, state.projection, now);
    this.wakeAt = null;
    if (decision.verdict === 'wait') this.wakeAt = decision.at;
    if (decision.verdict !== 'resurrect' || this.entity.busy) return;
    this.entity.accept(
      'recreate',
      { recreate: decision.instances.map((i) => i.instance), reason: decision.reason },
      'resurrector',
    );
    healer.resurrected(
      decision.instances.map((i) => i.key),
      decision.reason,
    );
    this.wakeAt = decision.wait;
  }
}
