// Topological order with ties broken by step id (code-unit order).
//
// Every id starts with its unit's name and ':' and no step depends on another unit's step, so
// the order Kahn's algorithm gives when it always takes the smallest ready id is simply: units in
// the order of `<unit>:`, and inside each unit Kahn's order with ties by id. (A unit with a
// smaller prefix always has a ready step until it is exhausted.) Computing it that way sorts only
// the unit names: O(u log u) plus a tiny Kahn per unit, instead of a heap over every step.
import { compareCodeUnits } from './canonical';
import type { Step } from './types';

export function topoSort(steps: readonly Step[]): Step[] {
  const units = new Map<string, Step[]>();
  for (const s of steps) {
    const list = units.get(s.unit);
    if (list) list.push(s);
    else units.set(s.unit, [s]);
  }
  return orderUnits([...units].map(([name, unitSteps]) => ({ name, steps: unitSteps })));
}

/** The same order from steps already grouped by unit (what the reconciler holds). */
export function orderUnits(units: readonly { name: string; steps: readonly Step[] }[]): Step[] {
  const sorted = units
    .map((u) => ({ key: `${u.name}:`, steps: u.steps }))
    .sort((a, b) => compareCodeUnits(a.key, b.key));
  const out: Step[] = [];
  sorted.forEach((u, i) => {
    if (i > 0 && sorted[i - 1]?.key === u.key) throw new Error(`planner bug: two units named ${u.key}`);
    sortUnit(u.steps, out);
  });
  return out;
}

/**
 * Kahn's algorithm over one unit's handful of steps, smallest ready id first; appends to `out`.
 * Units hold at most a few steps, so it scans instead of building maps (no allocation per unit).
 */
function sortUnit(steps: readonly Step[], out: Step[]): void {
  const start = out.length;
  const emitted = (id: string): boolean => {
    for (let i = start; i < out.length; i++) if ((out[i] as Step).id === id) return true;
    return false;
  };
  for (const s of steps) {
    if (s.id.charCodeAt(s.unit.length) !== 58 /* ':' */ || !s.id.startsWith(s.unit)) {
      throw new Error(`planner bug: step ${s.id} is not named after its unit ${s.unit}`);
    }
  }
  for (let k = 0; k < steps.length; k++) {
    let next: Step | undefined;
    for (const s of steps) {
      if (emitted(s.id) || !s.dependsOn.every(emitted)) continue;
      if (next !== undefined && s.id === next.id) throw new Error(`planner bug: duplicate step id ${s.id}`);
      if (next === undefined || s.id < next.id) next = s;
    }
    if (next === undefined) {
      const stuck = steps.filter((s) => !emitted(s.id)).map((s) => s.id);
      throw new Error(`planner bug: a dependency cycle, or one outside its unit, among ${stuck.join(', ')}`);
    }
    out.push(next);
  }
}
