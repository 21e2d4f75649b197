// The quota peak: the most the deployment holds at any moment of any schedule of the obligation.
import type { Allocation, PoolStatus, QuotaAmount } from '../domain/cloud';
import type { Step } from './types';

const RESOURCES = ['cpus', 'memory_mb', 'instances'] as const;

/** What a step does to the quota held: create-vm takes, release-quota gives back, others nothing. */
export function quotaDelta(step: Step): QuotaAmount | null {
  if (step.kind === 'create-vm') return step.quota;
  if (step.kind === 'release-quota')
    return { cpus: -step.quota.cpus, memory_mb: -step.quota.memory_mb, instances: -step.quota.instances };
  return null;
}

/**
 * Peak = quota held now + Σ over units of the unit's worst moment.
 *
 * Why this is exact: any moment of any schedule is a downward-closed set of steps (everything
 * started so far, counting in-flight creates as done). Steps of different units never depend on
 * each other, so a downward-closed set is a union of one per unit and the worst moment is the sum
 * of each unit's worst. In a unit the only positive steps are creates, so its worst moment is the
 * best closure of some set of its creates (their ancestors included, releases among them counting
 * negative), or nothing at all (0). Computed per resource: cpus and memory may peak at different
 * moments, and the pool check needs each resource's own maximum.
 */
export function quotaPeak(held: QuotaAmount, steps: readonly Step[]): QuotaAmount {
  const units = new Map<string, Step[]>();
  for (const s of steps) {
    const list = units.get(s.unit);
    if (list) list.push(s);
    else units.set(s.unit, [s]);
  }
  return unitsPeak(held, [...units.values()]);
}

/** The same from steps already grouped by unit (what the reconciler holds). */
export function unitsPeak(held: QuotaAmount, units: readonly (readonly Step[])[]): QuotaAmount {
  const peak = { cpus: held.cpus, memory_mb: held.memory_mb, instances: held.instances };
  for (const unitSteps of units) {
    const worst = unitWorst(unitSteps);
    for (const r of RESOURCES) peak[r] += worst[r];
  }
  return peak;
}

function unitWorst(steps: readonly Step[]): QuotaAmount {
  const worst = { cpus: 0, memory_mb: 0, instances: 0 };
  const creates: number[] = [];
  steps.forEach((s, i) => s.kind === 'create-vm' && creates.push(i));
  if (creates.length === 0) return worst;
  // Units are a handful of steps: index arithmetic, no maps, for each of 50k units.
  const index = (id: string): number => {
    const i = steps.findIndex((s) => s.id === id);
    if (i < 0) throw new Error(`planner bug: ${id} depends across units`);
    return i;
  };
  // Units carry one create (two would be a replacement of a replacement); enumerate subsets anyway.
  if (creates.length > 12) throw new Error('planner bug: too many creates in one unit');
  for (let mask = 1; mask < 1 << creates.length; mask++) {
    const inClosure: boolean[] = new Array<boolean>(steps.length).fill(false);
    const stack = creates.filter((_, k) => (mask >> k) & 1);
    for (let i = stack.pop(); i !== undefined; i = stack.pop()) {
      if (inClosure[i]) continue;
      inClosure[i] = true;
      for (const d of (steps[i] as Step).dependsOn) stack.push(index(d));
    }
    const total = { cpus: 0, memory_mb: 0, instances: 0 };
    steps.forEach((step, i) => {
      const delta = inClosure[i] ? quotaDelta(step) : null;
      if (delta) for (const r of RESOURCES) total[r] += delta[r];
    });
    for (const r of RESOURCES) worst[r] = Math.max(worst[r], total[r]);
  }
  return worst;
}

export function sumQuota(amounts: readonly QuotaAmount[]): QuotaAmount {
  const total = { cpus: 0, memory_mb: 0, instances: 0 };
  for (const a of amounts) for (const r of RESOURCES) total[r] += a[r];
  return total;
}

/**
 * Why the pool cannot hold the obligation's peak, or null when it can. The pool's usage counts the
 * deployment's own allocations, which the peak counts too: they are taken out once. Worked example:
 * limit 200 instances, usage 150 of which 40 are ours, peak 100 → needs 150 - 40 + 100 = 210, short by 10.
 */
export function quotaShortfall(q: {
  deployment: string;
  pool: string;
  status: PoolStatus;
  /** The deployment's own allocations, as observed. */
  mine: readonly Allocation[];
  peak: QuotaAmount;
}): string | null {
  const held = { cpus: 0, memory_mb: 0, instances: 0 };
  for (const a of q.mine) for (const r of RESOURCES) held[r] += a[r];
  const over: string[] = [];
  for (const r of RESOURCES) {
    const need = q.status.usage[r] - held[r] + q.peak[r];
    const limit = q.status.limits[r];
    if (need > limit) over.push(`${r}: needs ${need} at peak, limit ${limit} (short by ${need - limit})`);
  }
  return over.length
    ? `quota exceeded in resource pool '${q.pool}' for deployment ${q.deployment}: ${over.join('; ')}`
    : null;
}
