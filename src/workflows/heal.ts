// The resurrector's memory and policy, on the entity's state: which instances are in trouble since
// when, which VMs were already resurrected, and whether the deployment is in meltdown. Decisions are
// the planner's (planner/resurrection.ts); this class keeps what they need across passes.
import type { Manifest } from '../domain/manifest';
import {
  DEFAULT_GRACE_SECONDS,
  DEFAULT_MAX_UNHEALTHY,
  deploymentEvent,
  resurrectionDecision,
  trackTrouble,
  type ResurrectionDecision,
  type WatchedRow,
} from '../planner';
import type { EventLog } from './event-log';
import type { DeploymentState, HealState, HealView } from './types';

export const DEFAULT_WATCH_INTERVAL_SECONDS = 30;
/** The most VMs remembered as resurrected (the oldest are forgotten first). */
const RESURRECTED_LIMIT = 200;

export interface HealPolicy {
  intervalSeconds: number;
  resurrect: boolean;
  maxUnhealthy: number | string;
  graceSeconds: number;
}

/** The deployed manifest's watch and heal settings, with their defaults. */
export function healPolicy(m: Pick<Manifest, 'update' | 'watch'> | null): HealPolicy {
  return {
    intervalSeconds: m?.watch?.interval_seconds ?? DEFAULT_WATCH_INTERVAL_SECONDS,
    resurrect: m?.update?.resurrect ?? false,
    maxUnhealthy: m?.update?.max_unhealthy ?? DEFAULT_MAX_UNHEALTHY,
    graceSeconds: m?.update?.resurrect_grace_seconds ?? DEFAULT_GRACE_SECONDS,
  };
}

export class Healer {
  constructor(
    private readonly state: DeploymentState,
    private readonly log: EventLog,
  ) {}

  private get heal(): HealState {
    return (this.state.heal ??= { trouble: {}, resurrected: [], meltdown: null, lastResurrection: null });
  }

  get policy(): HealPolicy {
    return healPolicy(this.state.manifest);
  }

  /**
   * A new projection (from a watch pass or an operation's result): track trouble, then decide. A
   * meltdown that starts is logged once; the decision is returned for the caller to act on (only the
   * watch resurrects, and only when no operation runs).
   */
  seen(before: readonly WatchedRow[], rows: readonly WatchedRow[], now: number): ResurrectionDecision {
    const at = new Date(now).toISOString();
    this.heal.trouble = trackTrouble(this.heal.trouble, before, rows, at);
    const policy = this.policy;
    if (!policy.resurrect) {
      this.heal.meltdown = null;
      return { verdict: 'none' };
    }
    const decision = resurrectionDecision({
      rows,
      trouble: this.heal.trouble,
      now,
      graceSeconds: policy.graceSeconds,
      maxUnhealthy: policy.maxUnhealthy,
      resurrected: this.heal.resurrected,
    });
    const meltdown = decision.verdict === 'meltdown' ? decision.message : null;
    if (meltdown !== null && meltdown !== this.heal.meltdown) {
      const ctx = this.log.context(at);
      this.log.append([
        deploymentEvent(ctx, 'deployment.meltdown', {
          old: this.heal.meltdown,
          new: meltdown,
          detail: meltdown,
        }),
      ]);
    }
    this.heal.meltdown = meltdown;
    return decision;
  }

  /** The resurrection was accepted as an operation: never again for these VMs. */
  resurrected(keys: string[], reason: string): void {
    const list = this.heal.resurrected;
    list.push(...keys);
    if (list.length > RESURRECTED_LIMIT) list.splice(0, list.length - RESURRECTED_LIMIT);
    this.heal.lastResurrection = reason;
  }

  view(watching: boolean): HealView {
    const p = this.policy;
    return {
      watching,
      intervalSeconds: p.intervalSeconds,
      resurrect: p.resurrect,
      maxUnhealthy: p.maxUnhealthy,
      meltdown: this.heal.meltdown,
      trouble: Object.entries(this.heal.trouble)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([instance, t]) => ({ instance, ...t })),
      lastResurrection: this.heal.lastResurrection,
    };
  }
}
