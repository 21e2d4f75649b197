// The rollout (src/planner/rollout.ts), rule by rule, with the worked examples of its doc comment.
// Each case drives a Rollout the way the enactor does: next() hands out what may start, finish()
// completes a unit's steps one by one; `inFlight` is the units admitted and not yet finished.
import { describe, expect, it } from 'vitest';
import { admissible, resolveMaxInFlight, Rollout, type RolloutInput, type Step } from '../../../src/planner';
import { obligationOf, type GroupSpec } from '../../support/rollout-obligation';

class Run {
  readonly rollout: Rollout;
  readonly done: Set<string>;
  readonly handed = new Set<string>();
  private readonly units: string[];

  constructor(
    readonly input: RolloutInput,
    done: Iterable<string> = [],
  ) {
    this.done = new Set(done);
    this.rollout = new Rollout(input, this.done);
    this.units = [...new Set(input.steps.map((s) => s.unit))];
    this.next();
  }

  next(): string[] {
    const ids = this.rollout.next().map((s) => s.id);
    for (const id of ids) this.handed.add(id);
    return ids;
  }

  /** Completes each unit's steps in order, as the enactor would once each is handed out. */
  finish(...units: string[]): this {
    for (const unit of units) {
      for (const step of this.input.steps.filter((s) => s.unit === unit)) {
        if (!this.handed.has(step.id)) throw new Error(`${step.id} was never handed out`);
        this.complete(step);
      }
    }
    return this;
  }

  complete(step: Step): void {
    this.done.add(step.id);
    this.rollout.completed([step]);
    this.next();
  }

  get inFlight(): string[] {
    return this.units.filter((u) => this.rollout.admitted(u) && !this.rollout.finished(u));
  }
}

const run = (groups: GroupSpec[], cleanup: string[] = []) => new Run(obligationOf(groups, cleanup));

describe('canaries go first', () => {
  it('10 units, canaries 1, max_in_flight 2: {0} | 0 done → {1,2} | 1 done → {2,3}', () => {
    const r = run([{ name: 'a', units: 10, canaries: 1, maxInFlight: 2 }]);
    expect(r.inFlight).toEqual(['a/0']);
    expect(r.finish('a/0').inFlight).toEqual(['a/1', 'a/2']);
    expect(r.finish('a/1').inFlight).toEqual(['a/2', 'a/3']);
    expect(r.finish('a/3').inFlight).toEqual(['a/2', 'a/4']);
  });

  it('10 units, canaries 3, max_in_flight 2: the canaries two at a time, the rest only once all three are done', () => {
    const r = run([{ name: 'a', units: 10, canaries: 3, maxInFlight: 2 }]);
    expect(r.inFlight).toEqual(['a/0', 'a/1']);
    expect(r.finish('a/0').inFlight).toEqual(['a/1', 'a/2']);
    expect(r.finish('a/1').inFlight).toEqual(['a/2']); // a/3 is no canary: it waits for a/2
    expect(r.finish('a/2').inFlight).toEqual(['a/3', 'a/4']);
  });

  it('fencepost: canaries 5 of a 2-unit group are capped at 2, and the group is done after them', () => {
    const r = run([
      { name: 'a', units: 2, canaries: 5, maxInFlight: 1 },
      { name: 'b', units: 1, maxInFlight: 1 },
    ]);
    expect(r.inFlight).toEqual(['a/0']);
    expect(r.finish('a/0').inFlight).toEqual(['a/1']);
    expect(r.finish('a/1').inFlight).toEqual(['b/0']);
  });

  it('canaries 0: max_in_flight units at once; more slots than units is harmless', () => {
    expect(run([{ name: 'a', units: 4, canaries: 0, maxInFlight: 10 }]).inFlight).toEqual([
      'a/0',
      'a/1',
      'a/2',
      'a/3',
    ]);
  });
});

describe('max_in_flight', () => {
  it('a count bounds the group: a unit starts only as another finishes, lowest rank first', () => {
    const r = run([{ name: 'a', units: 5, maxInFlight: 2 }]);
    expect(r.inFlight).toEqual(['a/0', 'a/1']);
    expect(r.finish('a/1').inFlight).toEqual(['a/0', 'a/2']);
    expect(r.finish('a/0', 'a/2').inFlight).toEqual(['a/3', 'a/4']);
  });

  it.each([
    ['25%', 10, 2], // floor(2.5)
    ['50%', 3, 1], // floor(1.5)
    ['10%', 5, 1], // floor(0.5) = 0, raised to 1
    ['100%', 7, 7],
  ])('a percentage: %s of %i units keeps %i in flight (rounded down, at least 1)', (pct, units, want) => {
    const r = run([{ name: 'a', units, maxInFlight: resolveMaxInFlight(pct, units) }]);
    expect(r.inFlight).toHaveLength(want);
  });

  it('counts per group: two groups of one stage each run their own max_in_flight', () => {
    const r = run([
      { name: 'a', units: 3, maxInFlight: 1 },
      { name: 'b', units: 3, maxInFlight: 2, serial: false },
    ]);
    expect(r.inFlight).toEqual(['a/0', 'b/0', 'b/1']);
  });
});

describe('stages', () => {
  it('a serial group waits for every unit of the groups before it', () => {
    const r = run([
      { name: 'a', units: 2, maxInFlight: 2 },
      { name: 'b', units: 2, maxInFlight: 2 },
    ]);
    expect(r.inFlight).toEqual(['a/0', 'a/1']);
    expect(r.finish('a/0').inFlight).toEqual(['a/1']);
    expect(r.finish('a/1').inFlight).toEqual(['b/0', 'b/1']);
  });

  it('a serial group after two grouped ones waits for both (a serial, b not, then c serial)', () => {
    const r = run([
      { name: 'a', units: 1 },
      { name: 'b', units: 1, serial: false },
      { name: 'c', units: 1 },
    ]);
    expect(r.inFlight).toEqual(['a/0', 'b/0']);
    expect(r.finish('a/0').inFlight).toEqual(['b/0']);
    expect(r.finish('b/0').inFlight).toEqual(['c/0']);
  });

  it('a group with nothing to do is done: the next stage starts at once', () => {
    const r = run([
      { name: 'a', units: 0 },
      { name: 'b', units: 1 },
    ]);
    expect(r.inFlight).toEqual(['b/0']);
  });
});

describe('what starts without admission', () => {
  it('cleanup units (no policy) are admitted at once, whatever the stages wait for', () => {
    const r = run([{ name: 'a', units: 2, maxInFlight: 1 }], ['orphan/x', 'stray/y']);
    expect(r.inFlight).toEqual(['a/0', 'orphan/x', 'stray/y']);
  });

  it("a hot_swap's create-vm starts before its unit is admitted; the rest of the unit waits", () => {
    const r = run([{ name: 'a', units: 3, canaries: 1, maxInFlight: 1, shape: 'hot_swap' }]);
    expect([...r.handed].sort()).toEqual(['a/0:create-vm', 'a/1:create-vm', 'a/2:create-vm']);
    r.complete(r.input.steps.find((s) => s.id === 'a/1:create-vm') as Step);
    expect(r.handed.has('a/1:associate-vm-to-instance')).toBe(false); // a/1 is not admitted
    r.complete(r.input.steps.find((s) => s.id === 'a/0:create-vm') as Step);
    expect(r.handed.has('a/0:associate-vm-to-instance')).toBe(true);
  });
});

describe('stopping', () => {
  it('cancel: nothing more starts, not even a batch create', () => {
    const input = obligationOf([{ name: 'a', units: 3, shape: 'hot_swap' }]);
    const rollout = new Rollout(input, new Set());
    rollout.cancel();
    expect(rollout.next()).toEqual([]);
  });

  it('a failed canary stops its group; another group of the stage goes on; the next stage never starts', () => {
    const r = run([
      { name: 'a', units: 3, canaries: 1, maxInFlight: 2 },
      { name: 'b', units: 2, maxInFlight: 1, serial: false },
      { name: 'c', units: 1 },
    ]);
    expect(r.inFlight).toEqual(['a/0', 'b/0']);
    r.rollout.failed(r.input.steps.find((s) => s.unit === 'a/0') as Step);
    r.finish('b/0', 'b/1');
    expect(r.inFlight).toEqual(['a/0']);
    expect([...r.handed].filter((id) => id.startsWith('a/1') || id.startsWith('c/'))).toEqual([]);
  });
});

describe('a continued operation (done steps carried over)', () => {
  it('a finished unit takes no slot and counts as done; a half-done unit is admitted in its turn', () => {
    const input = obligationOf([{ name: 'a', units: 3, canaries: 1, maxInFlight: 1 }]);
    const r = new Run(input, ['a/1:delete-server', 'a/1:release-quota', 'a/2:delete-server']);
    expect(r.inFlight).toEqual(['a/0']);
    expect(r.rollout.stepsDone).toBe(3);
    expect(r.finish('a/0').inFlight).toEqual(['a/2']);
    expect([...r.handed]).toEqual(['a/0:delete-server', 'a/0:release-quota', 'a/2:release-quota']);
  });
});

describe('tie-breaks', () => {
  it("a group's units go in plan order, and units the plan does not list go last, by key", () => {
    const input = obligationOf([{ name: 'a', units: 2, maxInFlight: 1 }]);
    const extra = obligationOf([{ name: 'a', units: 4 }]).steps.filter((s) => /a\/[23]/.test(s.unit));
    const r = new Run({ ...input, steps: [...extra.reverse(), ...input.steps] });
    expect(r.inFlight).toEqual(['a/0']);
    expect(r.finish('a/0', 'a/1').inFlight).toEqual(['a/2']);
  });

  it('admissible gives the same units, stateless', () => {
    const input = obligationOf([{ name: 'a', units: 4, canaries: 1, maxInFlight: 2 }], ['orphan/x']);
    const r = new Run(input);
    const plan = r.rollout.plan;
    const state = {
      finished: new Set(['a/0']),
      admitted: new Set(['a/0', 'orphan/x']),
      failed: new Set<string>(),
      cancelled: false,
    };
    expect(admissible(plan, state)).toEqual(['a/1', 'a/2']);
    expect(admissible(plan, { ...state, failed: new Set(['a/0']) })).toEqual([]);
    expect(admissible(plan, { ...state, cancelled: true })).toEqual([]);
  });
});
