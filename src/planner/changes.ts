// State changes: what happened to a deployment's instances between two status projections, as events
// for the event log and callbacks. Pure: the time, the sequence number and the id salt come in as
// arguments, so a replayed workflow derives the same events with the same ids.
import type { ConvergeEvent, EventType } from '../domain/events';
import { derivedUuid } from './hash';

/** The fields of a status row (planner/status.ts, workflows/types.ts) the watch compares. */
export interface WatchedRow {
  /** `<group>/<uuid>`: the instance's identity, what two projections are joined on. */
  instance: string;
  group: string;
  index: number;
  /** The instance record's state: started | stopped | detached. */
  state: string;
  vm: string | null;
  vm_state: string | null;
  ips: readonly string[];
  power: string | null;
  health: string | null;
}

/**
 * One word for how an instance is, from its row. Order matters: a detached instance has no VM on
 * purpose (not missing); a VM in ERROR is an error whatever its power says; BUILD and DELETING are an
 * operation's business (pending, no event).
 */
export type Condition = 'running' | 'stopped' | 'unhealthy' | 'error' | 'missing' | 'detached' | 'pending';

export function conditionOf(row: WatchedRow): Condition {
  if (row.state === 'detached') return 'detached';
  if (row.vm === null) return 'missing';
  if (row.vm_state === 'ERROR') return 'error';
  if (row.vm_state === 'BUILD' || row.vm_state === 'DELETING') return 'pending';
  if (row.vm_state === 'SHUTOFF' || row.power === 'stopped') return 'stopped';
  if (row.health === 'unhealthy') return 'unhealthy';
  return 'running';
}

const EVENT_OF: Record<Condition, EventType | null> = {
  running: 'instance.running',
  stopped: 'instance.stopped',
  unhealthy: 'instance.unhealthy',
  error: 'instance.error',
  missing: 'instance.missing',
  // Hard-stopped: the VM is gone on purpose, which is a stop to a listener.
  detached: 'instance.stopped',
  pending: null,
};

/** Where the events of one batch sit in the deployment's event sequence, and what names their ids. */
export interface EventContext {
  deployment: string;
  /** ISO-8601 workflow time. */
  at: string;
  /** Sequence number of the batch's first event; each event takes the next. */
  firstSeq: number;
  /** Makes ids unique per deployment incarnation (a deployment deleted and deployed again). */
  salt: string;
}

/** An event's id: a uuid derived from its place in the deployment's sequence, never random. */
export function eventId(
  ctx: Pick<EventContext, 'deployment' | 'salt'>,
  seq: number,
  type: EventType,
): string {
  return derivedUuid('converge-event', ctx.salt, ctx.deployment, String(seq), type);
}

interface Change {
  type: EventType;
  instance: string;
  old: string | null;
  new: string | null;
  detail?: string;
}

/**
 * The events that turn `previous` into `next`, in a stable order: by instance identity, and for one
 * instance created → replaced → its condition → ip_changed; deleted instances last. Worked example
 * (web/0's server deleted out of band; web/1's address changed): [instance.missing web/0 running →
 * missing, instance.ip_changed web/1 10.0.0.11 → 10.0.0.12]. Equal projections give no events.
 */
export function stateChanges(
  previous: readonly WatchedRow[],
  next: readonly WatchedRow[],
  ctx: EventContext,
): ConvergeEvent[] {
  const before = new Map(previous.map((r) => [r.instance, r]));
  const after = new Map(next.map((r) => [r.instance, r]));
  const changes: Change[] = [];
  for (const row of [...next].sort(byIdentity)) {
    changes.push(...changesOf(before.get(row.instance) ?? null, row));
  }
  for (const row of [...previous].sort(byIdentity)) {
    if (!after.has(row.instance)) {
      changes.push({ type: 'instance.deleted', instance: nameOf(row), old: conditionOf(row), new: null });
    }
  }
  return changes.map((c, i) => {
    const seq = ctx.firstSeq + i;
    return {
      id: eventId(ctx, seq, c.type),
      type: c.type,
      deployment: ctx.deployment,
      instance: c.instance,
      old: c.old,
      new: c.new,
      at: ctx.at,
      ...(c.detail === undefined ? {} : { detail: c.detail }),
    };
  });
}

function changesOf(prev: WatchedRow | null, row: WatchedRow): Change[] {
  const name = nameOf(row);
  const now = conditionOf(row);
  const detail = `instance ${row.instance}${row.vm ? `, vm ${row.vm}` : ''}`;
  if (prev === null) {
    const created: Change = { type: 'instance.created', instance: name, old: null, new: now, detail };
    const event = EVENT_OF[now];
    return event ? [created, { type: event, instance: name, old: null, new: now, detail }] : [created];
  }
  const out: Change[] = [];
  if (prev.vm !== null && row.vm !== null && prev.vm !== row.vm) {
    out.push({ type: 'instance.replaced', instance: name, old: prev.vm, new: row.vm, detail });
  }
  const was = conditionOf(prev);
  const event = EVENT_OF[now];
  if (was !== now && event) out.push({ type: event, instance: name, old: was, new: now, detail });
  // An address change only means something between two VMs that have addresses: a missing VM
  // losing its addresses is already said by instance.missing.
  const oldIps = prev.ips.join(',');
  const newIps = row.ips.join(',');
  if (oldIps !== newIps && prev.ips.length > 0 && row.ips.length > 0) {
    out.push({ type: 'instance.ip_changed', instance: name, old: oldIps, new: newIps, detail });
  }
  return out;
}

/** `<group>/<index>`, what a user calls an instance (events name instances this way). */
function nameOf(row: WatchedRow): string {
  return `${row.group}/${row.index}`;
}

function byIdentity(a: WatchedRow, b: WatchedRow): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  if (a.index !== b.index) return a.index - b.index;
  return a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0;
}

/** An event about no one instance: an operation's (started, finished, failed, cancelled), a meltdown. */
export function deploymentEvent(
  ctx: EventContext,
  type: Extract<EventType, `operation.${string}` | `deployment.${string}`>,
  change: { old: string | null; new: string | null; detail: string },
): ConvergeEvent {
  return {
    id: eventId(ctx, ctx.firstSeq, type),
    type,
    deployment: ctx.deployment,
    instance: null,
    old: change.old,
    new: change.new,
    at: ctx.at,
    detail: change.detail,
  };
}
