// The rollout: which steps of an obligation may start now (DESIGN §4), as a pure answer the enactor
// only loops over. A unit is one instance update (all the steps of one instance) or one cleanup.
//
// Rules, in the order they apply:
// 1. Cancelled: nothing starts (the enactor's cleanup is not the rollout's business).
// 2. A step starts only when every step it depends on is done.
// 3. A create-vm with no dependencies (a hot_swap's replacement, a new instance) starts at once: a VM
//    being built serves no one yet, so it is not an update in flight. Every other step waits for its
//    unit to be admitted.
// 4. Cleanup units (orphans, strays; any unit whose group has no policy) are admitted at once.
// 5. A group admits its units in plan order (the obligation's `instances`; units it does not list
//    last, by key): first its canaries, `min(canaries, units)` of them, at most `max_in_flight` at a
//    time; only when every canary has finished, the rest, `max_in_flight` at a time. A unit finished
//    before (an operation continued as new) is skipped and takes no slot.
// 6. A group with a failed unit admits nothing more (a failed canary stops the group before the rest).
// 7. Stages: a serial group starts a stage; a non-serial group joins the stage before it. A stage
//    admits nothing until every unit of every earlier stage has finished.
//
// Worked examples (`max_in_flight` is a count here: policy.ts resolves percentages, rounding DOWN and
// raising to 1, so "25%" of 10 is 2, "10%" of 5 is 1, "50%" of 3 is 1):
//   10 units, canaries 1, max_in_flight 2:   {0} | 0 done → {1,2} | 1 done → {3} | 2 done → {4} …
//   10 units, canaries 3, max_in_flight 2:   {0,1} | 0 done → {2} (still canaries) | 1, 2 done → {3,4}
//   2 units, canaries 5:                     {0,1} — canaries are capped at the group's size (fencepost)
//   4 units, canaries 0, max_in_flight 10:   {0,1,2,3} at once — more slots than units is harmless
//   units {0,1,2} with 1 finished before a continue-as-new, canaries 1, max_in_flight 1:
//                                            {0} | 0 done → {2} — 1 takes no slot and counts as done
//   groups a (serial) and b (not serial), then c (serial): a and b admit together; c waits for both.
// Tie-breaks: a group's units are ranked by plan order, then by key; groups of a stage admit in the
// manifest's group order; a stage is done only when each of its groups is (an empty group is done).
import type { CreateVmStep, GroupPolicy, InstancePlan, Step } from './types';

/** What the rollout reads of an obligation. */
export interface RolloutInput {
  steps: readonly Step[];
  groups: readonly GroupPolicy[];
  /** Plan order of the instance units (canaries are the first of each group). */
  instances: readonly Pick<InstancePlan, 'instance'>[];
}

export interface PlannedUnit {
  key: string;
  group: string;
  /** Position within its group (the first `canaries` ranks are the canaries); 0 for cleanup. */
  rank: number;
  /** The unit's steps, in the obligation's (topological) order. */
  steps: Step[];
}

export interface GroupLane {
  name: string;
  /** Canaries of this group: the policy's, capped at the number of units. */
  canaries: number;
  maxInFlight: number;
  /** Unit keys in admission order. */
  units: string[];
}

export interface RolloutPlan {
  /** Every unit in plan order (the obligation's `instances`; the others last, by key). */
  units: ReadonlyMap<string, PlannedUnit>;
  /** Units admitted at once. */
  cleanup: string[];
  /** Stages in order, each its groups in manifest order (groups without units left out). */
  stages: GroupLane[][];
}

/** A create-vm with no dependencies starts before its unit is admitted: creates go in batch. */
export function isBatchCreate(step: Step): step is CreateVmStep {
  return step.kind === 'create-vm' && step.dependsOn.length === 0;
}

/** Serial groups start a new stage; a non-serial group joins the stage before it. */
export function stagesOf(groups: readonly Pick<GroupPolicy, 'name' | 'serial'>[]): string[][] {
  const stages: string[][] = [];
  for (const g of groups) {
    const last = stages[stages.length - 1];
    if (last && !g.serial) last.push(g.name);
    else stages.push([g.name]);
  }
  return stages;
}

/** The units of an obligation, grouped and ranked for admission. */
export function rolloutPlan(input: RolloutInput): RolloutPlan {
  const order = new Map(input.instances.map((p, i) => [p.instance, i] as const));
  const byKey = new Map<string, PlannedUnit>();
  for (const step of input.steps) {
    const unit = byKey.get(step.unit);
    if (unit) unit.steps.push(step);
    else byKey.set(step.unit, { key: step.unit, group: step.group, rank: 0, steps: [step] });
  }
  const sorted = [...byKey.values()].sort(
    (a, b) => (order.get(a.key) ?? 1e9) - (order.get(b.key) ?? 1e9) || (a.key < b.key ? -1 : 1),
  );
  const policies = new Map(input.groups.map((g) => [g.name, g] as const));
  const lanes = new Map<string, GroupLane>();
  const cleanup: string[] = [];
  for (const u of sorted) {
    const policy = policies.get(u.group);
    if (!policy) {
      cleanup.push(u.key);
      continue;
    }
    let lane = lanes.get(u.group);
    if (!lane) {
      lane = { name: u.group, canaries: 0, maxInFlight: Math.max(1, policy.maxInFlight), units: [] };
      lanes.set(u.group, lane);
    }
    u.rank = lane.units.length;
    lane.units.push(u.key);
  }
  for (const lane of lanes.values()) {
    lane.canaries = Math.min(policies.get(lane.name)?.canaries ?? 0, lane.units.length);
  }
  const stages = stagesOf(input.groups).map((names) =>
    names.map((n) => lanes.get(n)).filter((l): l is GroupLane => l !== undefined),
  );
  return { units: new Map(sorted.map((u) => [u.key, u] as const)), cleanup, stages };
}

/** Where the rollout stands: units finished, admitted (finished or not) and failed. */
export interface RolloutState {
  finished: ReadonlySet<string>;
  admitted: ReadonlySet<string>;
  failed: ReadonlySet<string>;
  cancelled: boolean;
}

/**
 * The units that may be admitted now, in admission order (rules 1 and 4–7). Stateless: the same
 * answer for the same state, which is what the incremental `Rollout` must give step by step.
 */
export function admissible(plan: RolloutPlan, state: RolloutState): string[] {
  if (state.cancelled) return [];
  const out = plan.cleanup.filter((k) => !state.admitted.has(k) && !state.finished.has(k));
  for (const stage of plan.stages) {
    for (const lane of stage) out.push(...admissibleIn(lane, state));
    if (!stage.every((lane) => lane.units.every((k) => state.finished.has(k)))) break;
  }
  return out;
}

function admissibleIn(lane: GroupLane, state: RolloutState): string[] {
  if (lane.units.some((k) => state.failed.has(k))) return [];
  const canariesDone = lane.units.slice(0, lane.canaries).every((k) => state.finished.has(k));
  const eligible = canariesDone ? lane.units : lane.units.slice(0, lane.canaries);
  const limit = canariesDone ? lane.maxInFlight : Math.min(lane.canaries, lane.maxInFlight);
  const active = lane.units.filter((k) => state.admitted.has(k) && !state.finished.has(k)).length;
  const waiting = eligible.filter((k) => !state.admitted.has(k) && !state.finished.has(k));
  return waiting.slice(0, Math.max(0, limit - active));
}

/** Where the enactor stands: steps done and started (in flight or done). */
export interface StepState extends RolloutState {
  done: ReadonlySet<string>;
  started: ReadonlySet<string>;
}

/** The steps that may start now (rules 1–3), given units admitted (after `admissible`). */
export function startable(plan: RolloutPlan, state: StepState): Step[] {
  if (state.cancelled) return [];
  const out: Step[] = [];
  for (const unit of plan.units.values()) {
    const admitted = state.admitted.has(unit.key);
    for (const step of unit.steps) {
      if (state.started.has(step.id) || state.done.has(step.id)) continue;
      if (!step.dependsOn.every((d) => state.done.has(d))) continue;
      if (admitted || isBatchCreate(step)) out.push(step);
    }
  }
  return out;
}

interface LaneState {
  lane: GroupLane;
  next: number;
  active: number;
  finished: number;
  canariesFinished: number;
  failed: boolean;
}

/**
 * The rollout, step by step: the enactor tells it what completed, failed or was cancelled, and asks
 * `next()` for the steps that may start now. Each completion costs O(its dependents), never a rescan
 * of the obligation. Same answers as `admissible` and `startable` (a property test checks it); each
 * startable step is handed out once.
 */
export class Rollout {
  readonly plan: RolloutPlan;
  private readonly laneOf = new Map<string, LaneState>();
  private readonly lanes: LaneState[][];
  private readonly admittedUnits = new Set<string>();
  private readonly left = new Map<string, number>();
  private readonly held = new Map<string, Step[]>();
  private readonly waiting = new Map<string, number>();
  private readonly after = new Map<string, Step[]>();
  private pending: Step[] = [];
  private cancelled = false;
  private doneCount = 0;

  /** `done`: the steps done before (a continued operation); the rollout reads it, the caller adds to it. */
  constructor(
    input: RolloutInput,
    private readonly done: ReadonlySet<string>,
  ) {
    this.plan = rolloutPlan(input);
    this.lanes = this.plan.stages.map((stage) =>
      stage.map((lane) => {
        const s = { lane, next: 0, active: 0, finished: 0, canariesFinished: 0, failed: false };
        for (const key of lane.units) this.laneOf.set(key, s);
        return s;
      }),
    );
    for (const key of this.plan.cleanup) this.admittedUnits.add(key);
    for (const step of input.steps) {
      for (const d of step.dependsOn) {
        const list = this.after.get(d);
        if (list) list.push(step);
        else this.after.set(d, [step]);
      }
    }
    for (const unit of this.plan.units.values()) {
      const left = unit.steps.filter((s) => !done.has(s.id)).length;
      this.left.set(unit.key, left);
      this.doneCount += unit.steps.length - left;
      if (left === 0) this.unitFinished(unit.key);
    }
    for (const step of input.steps) {
      if (done.has(step.id)) continue;
      const open = step.dependsOn.filter((d) => !done.has(d)).length;
      this.waiting.set(step.id, open);
      if (open === 0) this.markReady(step);
    }
  }

  /** Steps done, before and since. */
  get stepsDone(): number {
    return this.doneCount;
  }

  /** Admits the units the rules allow and hands out the steps that may start now (each once). */
  next(): Step[] {
    if (this.cancelled) return [];
    this.admit();
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Steps that finished together (a chain's links): every one is done before any dependent is looked at. */
  completed(steps: readonly Step[]): void {
    for (const step of steps) {
      this.doneCount++;
      for (const next of this.after.get(step.id) ?? []) {
        const open = (this.waiting.get(next.id) ?? 1) - 1;
        this.waiting.set(next.id, open);
        if (open === 0 && !this.done.has(next.id)) this.markReady(next);
      }
      const unit = step.unit;
      const left = (this.left.get(unit) ?? 1) - 1;
      this.left.set(unit, left);
      if (left === 0) this.unitFinished(unit);
    }
  }

  /** A step failed for good: its group admits nothing more (rule 6). */
  failed(step: Step): void {
    const lane = this.laneOf.get(step.unit);
    if (lane) lane.failed = true;
  }

  /** Nothing starts from now on (rule 1). */
  cancel(): void {
    this.cancelled = true;
  }

  /** The steps a step's completion may make ready. */
  dependents(stepId: string): readonly Step[] {
    return this.after.get(stepId) ?? [];
  }

  /** Has the unit been admitted (a cleanup unit always is)? */
  admitted(unit: string): boolean {
    return this.admittedUnits.has(unit);
  }

  /** Are all the unit's steps done? */
  finished(unit: string): boolean {
    return this.left.get(unit) === 0;
  }

  private markReady(step: Step): void {
    if (this.admittedUnits.has(step.unit) || isBatchCreate(step)) this.pending.push(step);
    else {
      const list = this.held.get(step.unit);
      if (list) list.push(step);
      else this.held.set(step.unit, [step]);
    }
  }

  private unitFinished(unit: string): void {
    const s = this.laneOf.get(unit);
    if (!s) return;
    s.finished++;
    if (this.admittedUnits.has(unit)) s.active--;
    if ((this.plan.units.get(unit)?.rank ?? Infinity) < s.lane.canaries) s.canariesFinished++;
  }

  /** Rules 5–7 with a pointer per group: units are admitted strictly in their order. */
  private admit(): void {
    for (const stage of this.lanes) {
      for (const s of stage) {
        if (s.failed) continue;
        const canariesDone = s.canariesFinished === s.lane.canaries;
        const eligible = canariesDone ? s.lane.units.length : s.lane.canaries;
        const limit = canariesDone ? s.lane.maxInFlight : Math.min(s.lane.canaries, s.lane.maxInFlight);
        while (s.active < limit && s.next < eligible) {
          const unit = s.lane.units[s.next++];
          // A unit finished before a continue-as-new needs no slot.
          if (unit === undefined || this.left.get(unit) === 0) continue;
          this.admittedUnits.add(unit);
          s.active++;
          const held = this.held.get(unit);
          if (held) this.pending.push(...held);
          this.held.delete(unit);
        }
      }
      if (!stage.every((s) => s.finished === s.lane.units.length)) return;
    }
  }
}
