// The rollout's laws (src/planner/rollout.ts), over generated obligations and generated orders of
// completion, failure and cancel, with a fixed seed. The driver plays the enactor: it asks next()
// for what may start, finishes one step in flight at a time (in an order fast-check picks) and
// checks every law after every answer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admissible, isBatchCreate, Rollout, startable, type Step } from '../../src/planner';
import { obligationOf, type GroupSpec } from '../support/rollout-obligation';
import { SEED } from './arbitraries';

const groupArb = fc.record({
  units: fc.integer({ min: 0, max: 6 }),
  canaries: fc.integer({ min: 0, max: 3 }),
  maxInFlight: fc.integer({ min: 1, max: 3 }),
  serial: fc.boolean(),
  shape: fc.constantFrom('update' as const, 'hot_swap' as const),
});

const caseArb = fc.record({
  groups: fc.array(groupArb, { minLength: 1, maxLength: 4 }),
  cleanup: fc.integer({ min: 0, max: 2 }),
  /** Per unit, how many of its first steps were done before (a continued operation). */
  resumed: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 30 }),
  draws: fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
  failAt: fc.option(fc.nat({ max: 40 }), { nil: null }),
  cancelAt: fc.option(fc.nat({ max: 40 }), { nil: null }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  violations: string[];
  stepsLeft: number;
  stopped: boolean;
}

function play(c: Case): Outcome {
  const specs: GroupSpec[] = c.groups.map((g, i) => ({ ...g, name: `g${i}` }));
  const input = obligationOf(
    specs,
    Array.from({ length: c.cleanup }, (_, i) => `orphan/${i}`),
  );
  const units = [...new Set(input.steps.map((s) => s.unit))];
  const done = new Set<string>();
  units.forEach((u, i) => {
    for (const s of input.steps.filter((x) => x.unit === u).slice(0, c.resumed[i] ?? 0)) done.add(s.id);
  });
  const rollout = new Rollout(input, done);
  const plan = rollout.plan;
  const lanes = plan.stages.flat();
  const laneOf = new Map(lanes.flatMap((l) => l.units.map((u) => [u, l] as const)));
  const unitDone = (u: string) => input.steps.every((s) => s.unit !== u || done.has(s.id));
  const admittedNow = () => new Set(units.filter((u) => rollout.admitted(u)));
  const failed = new Set<string>();
  const frozen = new Map<string, Set<string>>(); // lane → units admitted when it failed
  let cancelled = false;
  const handed = new Set<string>();
  const inFlight: Step[] = [];
  const violations: string[] = [];

  for (let tick = 0; tick < 500; tick++) {
    const before = admittedNow();
    const finished = new Set(units.filter(unitDone));
    const expected = admissible(plan, { finished, admitted: before, failed, cancelled });
    const out = rollout.next();
    const after = admittedNow();
    const newly = units.filter((u) => after.has(u) && !before.has(u));
    if (JSON.stringify([...newly].sort()) !== JSON.stringify([...expected].sort()))
      violations.push(`admitted ${newly.join(',')} where admissible says ${expected.join(',')}`);
    for (const s of out) {
      if (handed.has(s.id)) violations.push(`${s.id} handed out twice`);
      if (!s.dependsOn.every((d) => done.has(d))) violations.push(`${s.id} before its dependencies`);
      const lane = laneOf.get(s.unit);
      const rank = lane?.units.indexOf(s.unit) ?? 0;
      if (lane && !isBatchCreate(s) && rank >= lane.canaries) {
        const open = lane.units.slice(0, lane.canaries).filter((u) => !unitDone(u));
        if (open.length > 0) violations.push(`${s.id} started while canaries ${open.join(',')} run`);
      }
      handed.add(s.id);
      inFlight.push(s);
    }
    for (const lane of lanes) {
      const active = lane.units.filter((u) => after.has(u) && !unitDone(u));
      if (active.length > lane.maxInFlight)
        violations.push(`${lane.name}: ${active.length} units in flight, max_in_flight ${lane.maxInFlight}`);
      const at = frozen.get(lane.name);
      const grew = at ? lane.units.filter((u) => after.has(u) && !at.has(u)) : [];
      if (grew.length > 0) violations.push(`${lane.name} admitted ${grew.join(',')} after a failure`);
    }
    const missed = startable(plan, {
      done,
      started: handed,
      admitted: after,
      failed,
      finished: new Set(units.filter(unitDone)),
      cancelled,
    });
    if (missed.length > 0)
      violations.push(`startable but not handed out: ${missed.map((s) => s.id).join(',')}`);

    if (inFlight.length === 0) break;
    const [step] = inFlight.splice((c.draws[tick % c.draws.length] ?? 0) % inFlight.length, 1);
    if (!step) break;
    if (c.failAt === tick) {
      rollout.failed(step);
      failed.add(step.unit);
      const lane = laneOf.get(step.unit);
      if (lane) frozen.set(lane.name, new Set(lane.units.filter((u) => after.has(u))));
    } else {
      done.add(step.id);
      rollout.completed([step]);
    }
    if (c.cancelAt === tick) {
      rollout.cancel();
      cancelled = true;
    }
  }
  return {
    violations,
    stepsLeft: input.steps.filter((s) => !done.has(s.id)).length,
    stopped: failed.size > 0 || cancelled,
  };
}

const RUNS = { seed: SEED, numRuns: 300 };

describe('rollout laws', () => {
  it('never more than max_in_flight units of a group in flight; canaries finish before the rest start; a failed unit stops its group; the incremental answers are the stateless ones', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(play(c).violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('without a failure or a cancel, every step ends done (the rollout never stalls)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const o = play({ ...c, failAt: null, cancelAt: null });
        expect(o.stepsLeft).toBe(0);
      }),
      RUNS,
    );
  });
});
