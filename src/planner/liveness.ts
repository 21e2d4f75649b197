// Plans that cannot deadlock. A static IP is the one thing a step waits for that another unit may
// hold: the cloud refuses a create-vm whose address another server still has, and the step retries
// until that server is gone. The rollout admits units group by group (canaries first, then
// max_in_flight at a time; a serial group after every earlier one), so a create waiting for a unit
// admitted only once its own unit has finished waits forever: two groups swapping their static IPs
// (a .20 → .21, b .21 → .20) deleted a's VM, then waited for b, which waited for a.
//
// `addressRefusals` plays the rollout's admission with those waits added, before any step runs,
// and returns one refusal per wait that can never end (BOSH refuses the same plans:
// "Failed to reserve IP ... already reserved by instance ..."). A plan it accepts ends: every
// address a new VM needs is free, or freed by a step that the rollout runs without waiting for the
// create. The replay of admission follows DESIGN §4 and the enactor's header; it only needs to run
// when some create waits for a server outside its own chain, which ordinary plans never do.
import type { Server } from '../domain/cloud';
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
  const finished = playAdmission(steps, groups, unitOrder, waits);
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

interface UnitState {
  key: string;
  left: number;
  admitted: boolean;
  rank: number;
  held: Step[];
}

interface GroupState {
  policy: GroupPolicy;
  units: UnitState[];
  canaries: number;
  next: number;
  active: number;
  done: number;
  canariesDone: number;
}

/**
 * The steps that finish when every step takes its turn as soon as the rollout lets it, with each
 * wait as one more dependency. Admission as the enactor's: cleanup units at once; per group its
 * canaries (all finished) before the rest, then max_in_flight at a time; a stage once every earlier
 * stage is done (a serial group starts a stage, a non-serial one joins the stage before it). A
 * create-vm without dependencies starts before its unit is admitted (hot_swap and new VMs, in batch).
 */
function playAdmission(
  steps: readonly Step[],
  groups: readonly GroupPolicy[],
  unitOrder: readonly string[],
  waits: readonly Wait[],
): Set<string> {
  const extra = new Map<string, string[]>();
  for (const w of waits) {
    const list = extra.get(w.create.id) ?? [];
    // A holder no step deletes never lets go: a dependency nothing completes.
    list.push(w.frees ?? `never:${w.holding.server.id}`);
    extra.set(w.create.id, list);
  }
  const order = new Map(unitOrder.map((u, i) => [u, i] as const));
  const units = new Map<string, UnitState>();
  const unitOf = new Map<string, UnitState>();
  const groupNames = new Map<string, string>();
  for (const s of steps) {
    let u = units.get(s.unit);
    if (!u) units.set(s.unit, (u = { key: s.unit, left: 0, admitted: false, rank: 0, held: [] }));
    u.left++;
    unitOf.set(s.id, u);
    groupNames.set(s.unit, s.group);
  }
  const policies = new Map(groups.map((g) => [g.name, g] as const));
  const groupOf = new Map<string, GroupState>();
  const sorted = [...units.values()].sort(
    (a, b) => (order.get(a.key) ?? 1e9) - (order.get(b.key) ?? 1e9) || (a.key < b.key ? -1 : 1),
  );
  const groupOfUnit = new Map<UnitState, GroupState>();
  for (const u of sorted) {
    const policy = policies.get(groupNames.get(u.key) ?? '');
    if (!policy) {
      u.admitted = true;
      continue;
    }
    let g = groupOf.get(policy.name);
    if (!g) {
      g = { policy, units: [], canaries: 0, next: 0, active: 0, done: 0, canariesDone: 0 };
      groupOf.set(policy.name, g);
    }
    u.rank = g.units.length;
    g.units.push(u);
    groupOfUnit.set(u, g);
  }
  for (const g of groupOf.values()) g.canaries = Math.min(g.policy.canaries, g.units.length);
  const stages: GroupState[][] = [];
  for (const policy of groups) {
    const g = groupOf.get(policy.name);
    const last = stages[stages.length - 1];
    if (last && !policy.serial) {
      if (g) last.push(g);
    } else stages.push(g ? [g] : []);
  }

  const open = new Map<string, number>();
  const dependents = new Map<string, Step[]>();
  const ready: Step[] = [];
  const done = new Set<string>();
  const markReady = (s: Step): void => {
    const u = unitOf.get(s.id);
    if (!u || u.admitted || (s.kind === 'create-vm' && s.dependsOn.length === 0)) ready.push(s);
    else u.held.push(s);
  };
  const admit = (): void => {
    for (const stage of stages) {
      let stageDone = true;
      for (const g of stage) {
        const canariesDone = g.canariesDone === g.canaries;
        const eligible = canariesDone ? g.units.length : g.canaries;
        const limit = canariesDone ? g.policy.maxInFlight : Math.min(g.policy.canaries, g.policy.maxInFlight);
        while (g.active < limit && g.next < eligible) {
          const u = g.units[g.next++];
          if (u && !u.admitted) {
            u.admitted = true;
            g.active++;
            for (const s of u.held.splice(0)) ready.push(s);
          }
        }
        if (g.done < g.units.length) stageDone = false;
      }
      if (!stageDone) return;
    }
  };
  for (const s of steps) {
    const deps = [...s.dependsOn, ...(extra.get(s.id) ?? [])];
    open.set(s.id, deps.length);
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(s);
      else dependents.set(d, [s]);
    }
  }
  for (const s of steps) if (open.get(s.id) === 0) markReady(s);
  admit();
  for (let s = ready.pop(); s !== undefined; s = ready.pop()) {
    done.add(s.id);
    for (const next of dependents.get(s.id) ?? []) {
      const left = (open.get(next.id) ?? 1) - 1;
      open.set(next.id, left);
      if (left === 0) markReady(next);
    }
    const u = unitOf.get(s.id);
    if (u && --u.left === 0) {
      const g = groupOfUnit.get(u);
      if (g) {
        g.done++;
        if (u.admitted) g.active--;
        if (u.rank < g.canaries) g.canariesDone++;
      }
    }
    admit();
  }
  return done;
}
