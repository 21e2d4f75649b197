// Plans that cannot deadlock. A static IP is the one thing a step waits for that another unit may
// hold: the cloud refuses a create-vm whose address another server still has, and the step retries
// until that server is gone. The rollout admits units group by group (canaries first, then
// max_in_flight at a time; a serial group after every earlier one), so a create waiting for a unit
// admitted only once its own unit has finished waits forever: two groups swapping their static IPs
// (a .20 → .21, b .21 → .20) deleted a's VM, then waited for b, which waited for a.
//
// `addressRefusals` plays the rollout (rollout.ts) with those waits added, before any step runs,
// and returns one refusal per wait that can never end (BOSH refuses the same plans:
// "Failed to reserve IP ... already reserved by instance ..."). A plan it accepts ends: every
// address a new VM needs is free, or freed by a step that the rollout runs without waiting for the
// create. The play only runs when some create waits for a server outside its own chain, which
// ordinary plans never do.
import type { Server } from '../domain/cloud';
import { Rollout } from './rollout';
import type { CreateVmStep, Embodiment, GroupPolicy, Step } from './types';

export interface AddressRefusal {
  ip: string;
  network: string;
  /** The instance whose new VM needs the address: `<group>/<uuid>`. */
  instance: string;
  claim: string;
  /** Who holds the address now: `<group>/<uuid>` of an instance, or `orphan/<server id>`. */
  holder: string;
  /** The holder's claim id (`b/0`), when it is an instance of the deployment. */
  holderClaim: string | null;
  server: string;
  /** The holder keeps the address, or frees it only after the waiting instance's update. */
  why: 'kept' | 'after';
  message: string;
}

interface Holding {
  server: Server;
  holder: string;
  holderClaim: string | null;
}

interface Wait {
  create: CreateVmStep;
  ip: string;
  network: string;
  holding: Holding;
  /** The delete-server step that frees the address, if the plan has one. */
  frees: string | null;
}

/**
 * Refusals for creates that would wait forever for their static IP. `unitOrder` is the plan order
 * of instance units (the obligation's `instances`), the order the rollout admits a group's units in.
 */
export function addressRefusals(
  deployment: string,
  steps: readonly Step[],
  groups: readonly GroupPolicy[],
  unitOrder: readonly string[],
  embodiment: Embodiment,
): AddressRefusal[] {
  const waits = addressWaits(steps, embodiment);
  if (waits.length === 0) return [];
  const finished = playRollout(steps, groups, unitOrder, waits);
  const refusals: AddressRefusal[] = [];
  for (const w of waits) {
    if (finished.has(w.create.id) || (w.frees !== null && finished.has(w.frees))) continue;
    const why = w.frees === null ? 'kept' : 'after';
    const claim = w.create.claim;
    const holderName = w.holding.holderClaim
      ? `${w.holding.holder} (${w.holding.holderClaim}, server ${w.holding.server.id})`
      : `${w.holding.holder} (server ${w.holding.server.id})`;
    const tail =
      why === 'kept'
        ? 'which keeps it'
        : `which frees it only after ${w.create.instance} is updated, so the deploy would wait forever`;
    refusals.push({
      ip: w.ip,
      network: w.network,
      instance: w.create.instance,
      claim,
      holder: w.holding.holder,
      holderClaim: w.holding.holderClaim,
      server: w.holding.server.id,
      why,
      message:
        `Failed to reserve IP ${w.ip} (network ${w.network}) for instance ${w.create.instance} (${claim}): ` +
        `already reserved by instance ${holderName} of deployment ${deployment}, ${tail}. ` +
        `Move one of them to a free address first, in a deploy of its own`,
    });
  }
  return refusals;
}

/** Every create-vm with a static IP that another server of the deployment holds, outside its own chain. */
function addressWaits(steps: readonly Step[], embodiment: Embodiment): Wait[] {
  const wanted = new Map<string, CreateVmStep[]>();
  for (const s of steps) {
    if (s.kind !== 'create-vm' || s.spec.static_ip === null) continue;
    const list = wanted.get(s.spec.static_ip);
    if (list) list.push(s);
    else wanted.set(s.spec.static_ip, [s]);
  }
  if (wanted.size === 0) return [];

  const held = new Map<string, Holding[]>();
  const hold = (server: Server, holder: string, holderClaim: string | null): void => {
    for (const a of server.addresses) {
      if (!wanted.has(a.ip)) continue;
      const list = held.get(a.ip);
      const h = { server, holder, holderClaim };
      if (list) list.push(h);
      else held.set(a.ip, [h]);
    }
  };
  for (const e of embodiment.instances) {
    const name = `${e.record.group}/${e.record.id}`;
    const claim = `${e.record.group}/${e.record.index}`;
    for (const s of [...(e.server ? [e.server] : []), ...e.duplicates]) hold(s, name, claim);
  }
  for (const s of embodiment.orphans) hold(s, `orphan/${s.id}`, null);
  if (held.size === 0) return [];

  const deletes = new Map<string, Step>();
  const byId = new Map<string, Step>();
  for (const s of steps) {
    byId.set(s.id, s);
    if (s.kind === 'delete-server') deletes.set(s.serverId, s);
  }
  const waits: Wait[] = [];
  for (const [ip, creates] of wanted) {
    for (const holding of held.get(ip) ?? []) {
      const frees = deletes.get(holding.server.id) ?? null;
      for (const create of creates) {
        // The delete_create chain of the instance's own VM: freed before the create starts.
        if (frees && frees.unit === create.unit && precedes(frees.id, create, byId)) continue;
        const network = create.spec.network;
        waits.push({ create, ip, network, holding, frees: frees?.id ?? null });
      }
    }
  }
  return waits;
}

/** Is `id` an ancestor of `step` in the DAG (edges stay inside a unit: a few steps to walk)? */
function precedes(id: string, step: Step, byId: ReadonlyMap<string, Step>): boolean {
  const seen = new Set<string>();
  const todo = [...step.dependsOn];
  for (let d = todo.pop(); d !== undefined; d = todo.pop()) {
    if (d === id) return true;
    if (seen.has(d)) continue;
    seen.add(d);
    todo.push(...(byId.get(d)?.dependsOn ?? []));
  }
  return false;
}

/**
 * The steps that finish when every step starts as soon as the rollout (rollout.ts) lets it and ends at
 * once, each wait added as one more dependency (a holder no step deletes: one nothing completes).
 * Starting and ending at once loses nothing: admission only ever waits for units to finish.
 */
function playRollout(
  steps: readonly Step[],
  groups: readonly GroupPolicy[],
  unitOrder: readonly string[],
  waits: readonly Wait[],
): Set<string> {
  const extra = new Map<string, string[]>();
  for (const w of waits) {
    const list = extra.get(w.create.id) ?? [];
    list.push(w.frees ?? `never:${w.holding.server.id}`);
    extra.set(w.create.id, list);
  }
  const waiting = steps.map((s) => {
    const more = extra.get(s.id);
    return more ? { ...s, dependsOn: [...s.dependsOn, ...more] } : s;
  });
  const done = new Set<string>();
  const rollout = new Rollout(
    { steps: waiting, groups, instances: unitOrder.map((instance) => ({ instance })) },
    done,
  );
  for (let next = rollout.next(); next.length > 0; next = rollout.next()) {
    for (const s of next) done.add(s.id);
    rollout.completed(next);
  }
  return done;
}
