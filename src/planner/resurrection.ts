// The resurrector's decisions (BOSH's resurrector, Cluster API's MachineHealthCheck): which instances
// whose VM is missing or in ERROR to replace, and when to stand still because too many are down at once
// (meltdown). Pure: the clock comes in as `now`; the entity keeps `trouble` and `resurrected`.
import { conditionOf, type WatchedRow } from './changes';

/** Since when an instance has been in trouble (missing or in ERROR), and which VM it was about. */
export interface Trouble {
  condition: 'missing' | 'error';
  /** ISO-8601 workflow time the watch first saw it. */
  since: string;
  /** The VM in ERROR, or the one that went missing (its last known id; null if never seen). */
  vm: string | null;
}

export const DEFAULT_MAX_UNHEALTHY = '20%';
export const DEFAULT_GRACE_SECONDS = 60;

/**
 * `max_unhealthy` as a count of instances. A count is taken as written; a percentage is of the
 * instances that should have a VM (detached ones do not), rounded UP, so a small deployment can
 * still heal one VM. Worked examples:
 *   ("20%", 10) → 2     3 down of 10 is a meltdown, 2 down is healed
 *   ("20%",  1) → 1     ceil(0.2): a one-VM deployment heals its VM
 *   ("20%",  5) → 1     ceil(1.0)
 *   ("50%",  3) → 2     ceil(1.5)
 *   ("0%",   4) → 0     any trouble is a meltdown: the resurrector only reports
 *   (3,      2) → 3     a count is not capped
 */
export function resolveMaxUnhealthy(value: number | string | undefined, instances: number): number {
  const v = value ?? DEFAULT_MAX_UNHEALTHY;
  if (typeof v === 'number') return Math.max(0, Math.floor(v));
  const percent = Number(v.replace(/%$/, ''));
  if (!Number.isFinite(percent)) return 0;
  return Math.ceil((instances * percent) / 100);
}

/**
 * The trouble table after a new projection: instances newly missing or in ERROR get `now` as their
 * since-time; ones still in the same trouble keep theirs; recovered, detached and stopped ones drop out
 * (a stopped instance is not the resurrector's business). A missing VM is named by the id the previous
 * projection showed for it.
 */
export function trackTrouble(
  previous: Readonly<Record<string, Trouble>>,
  before: readonly WatchedRow[],
  rows: readonly WatchedRow[],
  now: string,
): Record<string, Trouble> {
  const lastVm = new Map(before.map((r) => [r.instance, r.vm]));
  const out: Record<string, Trouble> = {};
  for (const row of rows) {
    if (row.state !== 'started') continue;
    const c = conditionOf(row);
    if (c !== 'missing' && c !== 'error') continue;
    const held = previous[row.instance];
    const vm = c === 'error' ? row.vm : (held?.vm ?? lastVm.get(row.instance) ?? null);
    out[row.instance] =
      held && held.condition === c && held.vm === vm ? held : { condition: c, since: now, vm };
  }
  return out;
}

/** The key that makes "never twice for the same VM" checkable: the instance and the VM it lost. */
export function resurrectionKey(instance: string, trouble: Trouble): string {
  return `${instance}@${trouble.vm ?? 'unknown'}`;
}

export interface ResurrectionInput {
  rows: readonly WatchedRow[];
  trouble: Readonly<Record<string, Trouble>>;
  /** ms since epoch (workflow time). */
  now: number;
  graceSeconds: number;
  maxUnhealthy: number | string | undefined;
  /** Keys (resurrectionKey) already resurrected once. */
  resurrected: readonly string[];
}

export interface Resurrect {
  /** `<group>/<uuid>`, as the entity's recreate takes it. */
  instance: string;
  key: string;
  reason: string;
}

export type ResurrectionDecision =
  | { verdict: 'none' }
  /** Some trouble is younger than the grace period: look again at `at` (ms since epoch). */
  | { verdict: 'wait'; at: number }
  | { verdict: 'resurrect'; instances: Resurrect[]; reason: string; wait: number | null }
  | { verdict: 'meltdown'; unhealthy: number; total: number; message: string };

/**
 * What the resurrector does now. Meltdown first: when more started instances are unhealthy (missing,
 * ERROR, or reported unhealthy) than `max_unhealthy` allows, nothing is replaced, whatever the grace
 * period says. Otherwise each missing or ERROR instance whose trouble is older than the grace period,
 * and whose VM was not resurrected before, is replaced; younger trouble is looked at again later.
 */
export function resurrectionDecision(input: ResurrectionInput): ResurrectionDecision {
  const total = input.rows.filter((r) => r.state !== 'detached').length;
  const unhealthy = input.rows.filter((r) => {
    if (r.state !== 'started') return false;
    const c = conditionOf(r);
    return c === 'missing' || c === 'error' || c === 'unhealthy';
  }).length;
  if (unhealthy > resolveMaxUnhealthy(input.maxUnhealthy, total)) {
    const message = `meltdown: ${unhealthy} of ${total} unhealthy, not resurrecting`;
    return { verdict: 'meltdown', unhealthy, total, message };
  }
  const graceMs = input.graceSeconds * 1000;
  const done = new Set(input.resurrected);
  const due: Resurrect[] = [];
  let wait: number | null = null;
  for (const instance of Object.keys(input.trouble).sort()) {
    const t = input.trouble[instance];
    if (!t) continue;
    const key = resurrectionKey(instance, t);
    if (done.has(key)) continue;
    const at = Date.parse(t.since) + graceMs;
    if (at > input.now) {
      wait = wait === null ? at : Math.min(wait, at);
      continue;
    }
    const what = t.condition === 'missing' ? 'VM missing' : t.vm ? `VM ${t.vm} in ERROR` : 'VM in ERROR';
    due.push({ instance, key, reason: `resurrect: ${what} since ${t.since}` });
  }
  if (due.length > 0) {
    return { verdict: 'resurrect', instances: due, reason: due.map((d) => d.reason).join('; '), wait };
  }
  return wait === null ? { verdict: 'none' } : { verdict: 'wait', at: wait };
}
