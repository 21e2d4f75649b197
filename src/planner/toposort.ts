// Topological order with ties broken by step id (code-unit order): Kahn's algorithm over a min-heap,
// O(n log n), so 250k steps sort in well under a second.
import type { Step } from './types';

export function topoSort(steps: readonly Step[]): Step[] {
  const byId = new Map<string, Step>();
  for (const s of steps) {
    if (byId.has(s.id)) throw new Error(`planner bug: duplicate step id ${s.id}`);
    byId.set(s.id, s);
  }
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const s of steps) {
    waiting.set(s.id, s.dependsOn.length);
    for (const d of s.dependsOn) {
      if (!byId.has(d)) throw new Error(`planner bug: ${s.id} depends on unknown step ${d}`);
      const list = dependents.get(d);
      if (list) list.push(s.id);
      else dependents.set(d, [s.id]);
    }
  }
  const heap = new MinHeap();
  for (const s of steps) if (s.dependsOn.length === 0) heap.push(s.id);
  const out: Step[] = [];
  for (let id = heap.pop(); id !== undefined; id = heap.pop()) {
    const step = byId.get(id);
    if (step) out.push(step);
    for (const next of dependents.get(id) ?? []) {
      const left = (waiting.get(next) ?? 0) - 1;
      waiting.set(next, left);
      if (left === 0) heap.push(next);
    }
  }
  if (out.length !== steps.length) throw new Error('planner bug: the obligation has a dependency cycle');
  return out;
}

class MinHeap {
  private readonly items: string[] = [];
  push(value: string): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent] as string;
      if (p <= value) break;
      a[i] = p;
      i = parent;
    }
    a[i] = value;
  }
  pop(): string | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as string) < (a[l] as string) ? r : l;
      if ((a[c] as string) >= last) break;
      a[i] = a[c] as string;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
