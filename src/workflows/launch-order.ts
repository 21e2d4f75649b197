// Launch order: which ready step launches first when several may. Steps stay where the rollout put
// them; this only orders the queue. Each launch queues behind the ones before it in the worker and
// the region, so the order decides who waits:
// - By rank (stage, then the unit's rank in its group, then the group), not by group: in plan order
//   the last groups were last on every wave, and a hot_swap of ten groups ended with its last group
//   ~1 s behind its first. Cleanup units come first.
// - Batch creates after every other step, in the order their units will be admitted (stage, rank,
//   group): under the slot bound the first groups would otherwise take every build and the last
//   groups' canaries wait for a second round.
import { isBatchCreate, type RolloutPlan } from '../planner/rollout';
import type { Step } from '../planner/types';

export class LaunchQueue {
  private readonly position = new Map<string, number>();
  private readonly heap: MinHeap<Step>;

  constructor(plan: RolloutPlan, stepCount: number) {
    let pos = 0;
    const place = (key: string): void => {
      for (const step of plan.units.get(key)?.steps ?? []) this.position.set(step.id, pos++);
    };
    for (const key of plan.cleanup) place(key);
    for (const stage of plan.stages) {
      const ranks = Math.max(0, ...stage.map((lane) => lane.units.length));
      for (let rank = 0; rank < ranks; rank++) {
        for (const lane of stage) {
          const key = lane.units[rank];
          if (key !== undefined) place(key);
        }
      }
    }
    const lanes = plan.stages.flat();
    const groupsPerStage = Math.max(1, ...plan.stages.map((stage) => stage.length));
    const maxRank = Math.max(1, ...lanes.map((lane) => lane.units.length));
    plan.stages.forEach((stage, si) =>
      stage.forEach((lane, gi) =>
        lane.units.forEach((key, rank) => {
          for (const step of plan.units.get(key)?.steps ?? []) {
            if (!isBatchCreate(step)) continue;
            this.position.set(step.id, stepCount + (si * maxRank + rank) * groupsPerStage + gi);
          }
        }),
      ),
    );
    this.heap = new MinHeap<Step>((a, b) => (this.position.get(a.id) ?? 0) - (this.position.get(b.id) ?? 0));
  }

  push(step: Step): void {
    this.heap.push(step);
  }

  /** The ready step that launches first, if any. */
  pop(): Step | undefined {
    return this.heap.pop();
  }
}

/** A binary min-heap: the ready steps, lowest launch position first. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as T, a[m] as T) < 0) m = l;
        if (r < a.length && this.less(a[r] as T, a[m] as T) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as T, a[i] as T];
        i = m;
      }
    }
    return top;
  }
}
