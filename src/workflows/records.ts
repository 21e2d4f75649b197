// Instance records before and after an operation. Pure helpers, so the operation reads as its story.
import type { InstanceRecord, InstanceState } from '../domain/instance';
import type { Obligation } from '../planner/types';
import type { OperationInput } from './types';

/** Does `selector` (`<group>/<uuid>`, `<group>/<index>` or `<group>`) pick this record? */
export function selects(selector: string, r: InstanceRecord): boolean {
  return selector === r.group || selector === `${r.group}/${r.id}` || selector === `${r.group}/${r.index}`;
}

function select(records: InstanceRecord[], selectors: string[] | undefined): (r: InstanceRecord) => boolean {
  if (!selectors || selectors.length === 0) return () => true;
  return (r) => selectors.some((s) => selects(s, r));
}

/** The records the operation plans from: stop and start change instance states (digressions) first. */
export function recordsFor(input: OperationInput): InstanceRecord[] {
  const set = (pick: (r: InstanceRecord) => boolean, to: InstanceState, from: InstanceState[]) =>
    input.records.map((r) => (pick(r) && from.includes(r.state) ? { ...r, state: to } : r));
  switch (input.kind) {
    case 'stop': {
      const pick = select(input.records, input.stop?.instances);
      return input.stop?.hard
        ? set(pick, 'detached', ['started', 'stopped'])
        : set(pick, 'stopped', ['started']);
    }
    case 'start':
      return set(select(input.records, input.start?.instances), 'started', ['stopped', 'detached']);
    default:
      return input.records;
  }
}

/**
 * Records after enactment: an instance whose steps all finished takes its planned record (or is gone,
 * when the plan deleted it); an unfinished one keeps its old record, and a new one that never got
 * its VM associated does not exist yet.
 */
export function recordsAfter(
  before: InstanceRecord[],
  obligation: Obligation,
  done: Set<string>,
): InstanceRecord[] {
  const unfinished = new Set<string>();
  for (const step of obligation.steps) {
    if (!done.has(step.id)) unfinished.add(instanceIdOf(step.instance));
  }
  const planned = new Map(obligation.records.map((r) => [r.id, r] as const));
  const old = new Map(before.map((r) => [r.id, r] as const));
  const out: InstanceRecord[] = [];
  for (const r of obligation.records) {
    if (!unfinished.has(r.id)) out.push(r);
    else {
      const o = old.get(r.id);
      if (o) out.push(o);
    }
  }
  for (const r of before) {
    if (!planned.has(r.id) && unfinished.has(r.id)) out.push(r);
  }
  return out;
}

function instanceIdOf(instance: string): string {
  const slash = instance.lastIndexOf('/');
  return slash < 0 ? instance : instance.slice(slash + 1);
}
