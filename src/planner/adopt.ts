// Which existing instance fills which claim slot. Instances keep their group and index where they
// can; `migrated_from` moves a vanished group's instances into the group that names it (keeping
// their uuids); instances left without a slot are obsolete (scale down or group removed).
import type { InstanceRecord } from '../domain/instance';
import { compareCodeUnits } from './canonical';

export interface GroupShape {
  name: string;
  instances: number;
  migratedFrom: readonly string[];
}

export interface Slotted<T> {
  item: T;
  group: string;
  index: number;
  /** The group the instance came from when it was migrated, else null. */
  migratedFrom: string | null;
}

export interface Obsolete<T> {
  item: T;
  /** Human reason: `scale down: api has 3 instances, index 3 goes` / `group api-old removed`. */
  reason: string;
  /** The group whose update policy schedules the deletion ('' when the group is gone). */
  group: string;
}

export interface Adoption<T> {
  /** group → slot index → occupant. */
  slots: Map<string, (Slotted<T> | undefined)[]>;
  obsolete: Obsolete<T>[];
}

const byIndexThenId = (a: InstanceRecord, b: InstanceRecord): number =>
  a.index - b.index || compareCodeUnits(a.id, b.id);

/**
 * Candidates for a group, in order: its own instances (by index, id), then those of each
 * `migrated_from` group in the order listed. Each candidate keeps its index if it is free and in
 * range; the rest fill the lowest free indices; whoever is left over is obsolete. So a plain scale
 * down removes the highest indices, and a merge of two groups keeps every uuid it has room for.
 */
export function adopt<T>(
  groups: readonly GroupShape[],
  items: readonly T[],
  record: (item: T) => InstanceRecord,
): Adoption<T> {
  const current = new Set(groups.map((g) => g.name));
  const byGroup = new Map<string, T[]>();
  for (const item of items) {
    const g = record(item).group;
    const list = byGroup.get(g);
    if (list) list.push(item);
    else byGroup.set(g, [item]);
  }
  for (const list of byGroup.values()) list.sort((a, b) => byIndexThenId(record(a), record(b)));

  const slots = new Map<string, (Slotted<T> | undefined)[]>();
  const obsolete: Obsolete<T>[] = [];
  const claimedOldGroups = new Set<string>();

  for (const group of groups) {
    const row = new Array<Slotted<T> | undefined>(group.instances).fill(undefined);
    slots.set(group.name, row);
    const candidates: { item: T; from: string | null }[] = (byGroup.get(group.name) ?? []).map((item) => ({
      item,
      from: null,
    }));
    for (const old of group.migratedFrom) {
      // A group that still exists keeps its own instances; an old group is adopted once.
      if (current.has(old) || claimedOldGroups.has(old)) continue;
      claimedOldGroups.add(old);
      for (const item of byGroup.get(old) ?? []) candidates.push({ item, from: old });
    }
    const waiting: { item: T; from: string | null }[] = [];
    for (const c of candidates) {
      const index = record(c.item).index;
      if (index >= 0 && index < row.length && row[index] === undefined) {
        row[index] = { item: c.item, group: group.name, index, migratedFrom: c.from };
      } else waiting.push(c);
    }
    let free = 0;
    for (const c of waiting) {
      while (free < row.length && row[free] !== undefined) free++;
      if (free < row.length) {
        row[free] = { item: c.item, group: group.name, index: free, migratedFrom: c.from };
      } else {
        const r = record(c.item);
        obsolete.push({
          item: c.item,
          group: group.name,
          reason:
            c.from === null
              ? `scale down: ${group.name} has ${group.instances} instance${group.instances === 1 ? '' : 's'}, index ${r.index} goes`
              : `scale down: no room in ${group.name} (${group.instances} instances) for ${c.from}/${r.index}`,
        });
      }
    }
  }

  const removed = [...byGroup.keys()]
    .filter((g) => !current.has(g) && !claimedOldGroups.has(g))
    .sort(compareCodeUnits);
  for (const g of removed) {
    for (const item of byGroup.get(g) ?? []) obsolete.push({ item, group: '', reason: `group ${g} removed` });
  }
  return { slots, obsolete };
}
