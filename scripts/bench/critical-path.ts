// The ideal time of an obligation: how long it takes if every step lasts exactly what the cloud makes
// it last and nothing else costs anything (no Temporal round trips, no polling, no worker limits).
//
// It is the critical path of the obligation DAG once the update policy is drawn in: a step starts
// when its dependencies are done and its unit (one instance update) is admitted; units are admitted
// per group, canaries first (all of them done before the rest start), then at most max_in_flight at
// a time; a serial group waits for every earlier group; a create-vm with no dependencies (hot_swap's
// new VMs, new instances) starts at once (DESIGN §4). The enactor (src/workflows/enactor.ts) follows
// the same rules, so the ratio wall / ideal is the price of the machinery alone.
//
// Pure: no clock, no I/O. Simulated as a list schedule with unlimited workers, which for these rules
// equals the longest path through the DAG plus the policy's implied edges.
import type { GroupPolicy, InstancePlan, StepKind } from '../../src/planner/types';

/** The fields of a step the schedule depends on (a planner Step has them all). */
export interface ScheduledStep {
  id: string;
  kind: StepKind;
  unit: string;
  group: string;
  dependsOn: readonly string[];
}

export interface ScheduledObligation {
  steps: readonly ScheduledStep[];
  groups: readonly Pick<GroupPolicy, 'name' | 'canaries' | 'maxInFlight' | 'serial'>[];
  /** Plan order of units (group, then index): canaries are the first units of a group in this order. */
  instances: readonly Pick<InstancePlan, 'instance'>[];
}

export type StepDurations = Record<StepKind, number>;

export interface CloudLatencies {
  /** BUILD → ACTIVE. */
  build_ms: number;
  /** DELETING → gone. */
  delete_ms: number;
  /** Added to every API request. */
  latency_ms: number;
}

/**
 * The least each step can take: the region's lifecycle delay plus one latency per API request the
 * step cannot do without (create-vm: reserve quota, create, one read that sees ACTIVE; associate:
 * read, tag, list volumes, attach; delete-server: delete, one read that sees 404; release-quota:
 * read, list holders, release; detach-disk: read, detach; delete-disk: delete; power: read, act, read).
 */
export function stepDurations(c: CloudLatencies): StepDurations {
  const l = c.latency_ms;
  return {
    'create-vm': c.build_ms + 3 * l,
    'associate-vm-to-instance': 4 * l,
    'delete-server': c.delete_ms + 2 * l,
    'release-quota': 3 * l,
    'detach-disk': 2 * l,
    'delete-disk': l,
    // Power changes at once in the region: read, act, one read that sees it.
    'power-off': 3 * l,
    'power-on': 3 * l,
    reboot: 3 * l,
  };
}

interface SimUnit {
  key: string;
  group: string;
  steps: ScheduledStep[];
  admitted: boolean;
  remaining: number;
}

/** The ideal duration of `o` in ms. Throws if some step could never start under the policy. */
export function criticalPathMs(o: ScheduledObligation, durations: StepDurations): number {
  const order = new Map(o.instances.map((p, i) => [p.instance, i] as const));
  const units = new Map<string, SimUnit>();
  for (const step of o.steps) {
    let unit = units.get(step.unit);
    if (!unit) {
      unit = { key: step.unit, group: step.group, steps: [], admitted: step.group === '', remaining: 0 };
      units.set(step.unit, unit);
    }
    unit.steps.push(step);
    unit.remaining++;
  }
  const sorted = [...units.values()].sort(
    (a, b) => (order.get(a.key) ?? 1e9) - (order.get(b.key) ?? 1e9) || (a.key < b.key ? -1 : 1),
  );
  const byGroup = new Map<string, SimUnit[]>();
  for (const u of sorted) {
    const list = byGroup.get(u.group) ?? [];
    list.push(u);
    byGroup.set(u.group, list);
  }
  const stages: string[][] = [];
  for (const g of o.groups) {
    const last = stages[stages.length - 1];
    if (last && !g.serial) last.push(g.name);
    else stages.push([g.name]);
  }
  const policies = new Map(o.groups.map((g) => [g.name, g] as const));

  const unitOf = new Map<string, SimUnit>();
  for (const u of sorted) for (const s of u.steps) unitOf.set(s.id, u);
  const done = new Set<string>();
  const started = new Set<string>();
  let running: Array<{ at: number; step: ScheduledStep }> = [];
  let now = 0;

  const admit = (): void => {
    for (const stage of stages) {
      let stageDone = true;
      for (const name of stage) {
        const policy = policies.get(name);
        const list = byGroup.get(name) ?? [];
        if (!policy || list.length === 0) continue;
        const canaries = list.slice(0, policy.canaries);
        const canariesDone = canaries.every((u) => u.remaining === 0);
        const eligible = canariesDone ? list : canaries;
        const limit = canariesDone ? policy.maxInFlight : Math.min(policy.canaries, policy.maxInFlight);
        let active = list.filter((u) => u.admitted && u.remaining > 0).length;
        for (const u of eligible) {
          if (active >= limit) break;
          if (!u.admitted) {
            u.admitted = true;
            active++;
          }
        }
        if (list.some((u) => u.remaining > 0)) stageDone = false;
      }
      if (!stageDone) return;
    }
  };

  for (;;) {
    admit();
    for (const u of sorted) {
      for (const step of u.steps) {
        if (started.has(step.id)) continue;
        const batchCreate = step.kind === 'create-vm' && step.dependsOn.length === 0;
        if (!(u.admitted || batchCreate)) continue;
        if (!step.dependsOn.every((d) => done.has(d))) continue;
        started.add(step.id);
        running.push({ at: now + durations[step.kind], step });
      }
    }
    if (running.length === 0) break;
    now = running.reduce((min, r) => Math.min(min, r.at), Infinity);
    const finishing = running.filter((r) => r.at === now);
    running = running.filter((r) => r.at !== now);
    for (const { step } of finishing) {
      done.add(step.id);
      const u = unitOf.get(step.id);
      if (u) u.remaining--;
    }
  }
  if (done.size !== o.steps.length) {
    const stuck = o.steps.find((s) => !done.has(s.id));
    throw new Error(`obligation cannot finish under its policy: step ${stuck?.id ?? '?'} never starts`);
  }
  return now;
}
