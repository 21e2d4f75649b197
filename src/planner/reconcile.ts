// The reconciler: (patent, embodiment, options) → obligation. Pure and deterministic.
// Reads top to bottom: adopt existing instances into claim slots, then plan each claim, each
// obsolete instance, each orphan and stray; order the steps; compute the quota peak.
import { TAG, type Allocation, type Server, type Volume } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import type { VmStrategy } from '../domain/manifest';
import { adopt, type Obsolete, type Slotted } from './adopt';
import { compareCodeUnits } from './canonical';
import { whyKept } from './compare';
import { derivedUuid } from './hash';
import { sumQuota, unitsPeak } from './quota';
import { ClaimSpecs, vmChanges } from './reasons';
import { Unit } from './steps';
import { orderUnits } from './toposort';
import type {
  Claim,
  EmbodiedInstance,
  Embodiment,
  GroupPolicy,
  InstancePlan,
  Obligation,
  Patent,
  ReconcileOptions,
} from './types';

export const REASON = {
  newInstance: 'new instance',
  missingVm: 'missing VM',
  missingVmDeleting: 'missing VM (its last server is being deleted)',
  failed: 'failed server',
  recreate: '--recreate',
  detached: 'detached (hard-stopped): VM deleted, instance and disk kept',
  orphan: 'orphan: a server tagged for the deployment that no instance owns',
  strayAllocation: 'stray allocation: no live server consumes it',
  strayVolume: 'stray volume: its instance no longer exists',
} as const;

export function staticIpFallback(claim: Claim): string {
  const ips = claim.networks.flatMap((n) => (n.staticIp === null ? [] : [n.staticIp]));
  return `delete_create instead of hot_swap: static IP ${ips.join(', ')} cannot be held by two VMs`;
}

/** `<group>/<uuid>` as one flat string (unit names are map keys and id prefixes; see hash.ts). */
const instanceName = (r: { group: string; id: string }): string => [r.group, r.id].join('/');

/** Composite questions about one embodied instance, so no caller works them out again. */
const needsVm = (e: EmbodiedInstance): boolean => e.record.state === 'started';
const hasStaticIp = (claim: Claim): boolean => claim.networks.some((n) => n.staticIp !== null);

export function reconcile(patent: Patent, embodiment: Embodiment, options: ReconcileOptions): Obligation {
  return new Reconciler(patent, embodiment, options).run();
}

class Reconciler {
  private readonly units: Unit[] = [];
  private readonly plans: InstancePlan[] = [];
  private readonly records: InstanceRecord[] = [];
  private readonly warnings: string[];
  private readonly specs = new ClaimSpecs();
  private readonly allocations: Map<string, Allocation>;
  /** Group policies with the reconcile options' default strategy where the manifest chose none. */
  private readonly groups: GroupPolicy[];
  private readonly policies: Map<string, GroupPolicy>;
  private readonly orphans: Map<string, Server>;
  /** Orphans deleted inside an instance's unit because they hold its volume. */
  private readonly orphansTaken = new Set<string>();

  constructor(
    private readonly patent: Patent,
    private readonly embodiment: Embodiment,
    private readonly options: ReconcileOptions,
  ) {
    this.warnings = [...patent.warnings];
    this.allocations = new Map(embodiment.allocations.map((a) => [a.id, a]));
    this.groups = patent.groups.map((g) =>
      g.strategyExplicit ? g : { ...g, strategy: options.defaultStrategy },
    );
    this.policies = new Map(this.groups.map((g) => [g.name, g]));
    this.orphans = new Map(embodiment.orphans.map((s) => [s.id, s]));
  }

  run(): Obligation {
    const { patent, embodiment } = this;
    const adoption = adopt(patent.groups, embodiment.instances, (e) => e.record);
    for (const claim of patent.claims) {
      const slot = adoption.slots.get(claim.group)?.[claim.index];
      if (slot) this.existing(claim, slot);
      else this.create(claim);
    }
    for (const obsolete of adoption.obsolete) this.remove(obsolete);
    this.renameWarnings(adoption.obsolete);
    for (const orphan of embodiment.orphans) if (!this.orphansTaken.has(orphan.id)) this.orphan(orphan);
    for (const allocation of embodiment.strayAllocations) {
      const unit = this.unit(`stray/${allocation.id}`, '', [REASON.strayAllocation]);
      unit.releaseQuota(allocation, null, []);
    }
    for (const volume of embodiment.strayVolumes) this.strayVolume(volume);

    const steps = orderUnits(this.units);
    return {
      deployment: patent.deployment,
      steps,
      instances: this.plans,
      groups: this.groups,
      quotaPeak: unitsPeak(
        sumQuota(embodiment.allocations),
        this.units.map((u) => u.steps),
      ),
      records: this.records,
      warnings: this.warnings,
    };
  }

  private unit(name: string, group: string, reasons: readonly string[]): Unit {
    const unit = new Unit(name, group, [...reasons]);
    this.units.push(unit);
    return unit;
  }

  private strategy(claim: Claim): { strategy: VmStrategy; note: string | null } {
    const chosen = this.policies.get(claim.group)?.strategy ?? this.options.defaultStrategy;
    if (chosen === 'hot_swap' && hasStaticIp(claim))
      return { strategy: 'delete_create', note: staticIpFallback(claim) };
    return { strategy: chosen, note: null };
  }

  private recreateAsked(claim: Claim, record: InstanceRecord, name: string): boolean {
    const r = this.options.recreate;
    if (r === true) return true;
    if (!Array.isArray(r)) return false;
    return r.some((x) => x === name || x === claim.id || x === record.id || x === instanceName(record));
  }

  // -- claims without an instance: a new instance, a VM, an association -----------------------

  private create(claim: Claim): void {
    const id = derivedUuid(this.patent.deployment, claim.id, String(this.options.operationSeq));
    const name = instanceName({ group: claim.group, id });
    const unit = this.unit(name, claim.group, [REASON.newInstance]);
    const c = this.createVm(unit, claim, id, []);
    unit.associate({ claim, instanceId: id, createStep: c, dependsOn: [c] });
    this.plans.push({
      instance: name,
      claim: claim.id,
      action: 'create',
      strategy: null,
      reasons: [REASON.newInstance],
      destructive: false,
    });
    this.records.push({
      id,
      group: claim.group,
      index: claim.index,
      az: claim.az,
      bootstrap: claim.bootstrap,
      state: 'started',
    });
  }

  private createVm(unit: Unit, claim: Claim, instanceId: string, dependsOn: (string | null)[]): string {
    const { patent, options } = this;
    return unit.createVm({
      deployment: patent.deployment,
      operationId: options.operationId,
      pool: patent.resourcePool,
      claim,
      instanceId,
      specTag: this.specs.tag(claim),
      dependsOn,
    });
  }

  // -- claims with an instance --------------------------------------------------------------

  private existing(claim: Claim, slot: Slotted<EmbodiedInstance>): void {
    const e = slot.item;
    const name = instanceName({ group: claim.group, id: e.record.id });
    const r = e.record;
    this.records.push({
      id: r.id,
      group: claim.group,
      index: claim.index,
      az: claim.az,
      bootstrap: claim.bootstrap,
      state: r.state,
    });

    // Fast path for most of a large deployment: up to date, nothing to clean up.
    if (this.upToDate(claim, e, name)) {
      this.plans.push({
        instance: name,
        claim: claim.id,
        action: 'keep',
        strategy: null,
        reasons: [],
        destructive: false,
      });
      return;
    }
    const replace = needsVm(e) ? this.replacementReasons(claim, e, name) : [];
    if (!needsVm(e)) this.digressionWarnings(claim, e, name);
    const getsVm = replace.length > 0;
    const dropVm = e.record.state === 'detached' && e.server !== null;
    const oldVm = getsVm || dropVm ? e.server : null;
    const { strategy, note } = getsVm && oldVm ? this.strategy(claim) : { strategy: null, note: null };
    const retiring = this.retiringServers(e, oldVm);
    const cleanup = retiring.filter((s) => s.id !== oldVm?.id).map((s) => this.retireReason(e, s, name));
    const reasons = getsVm
      ? [...replace, ...(note === null ? [] : [note])]
      : dropVm
        ? [REASON.detached]
        : cleanup;
    this.plans.push({
      instance: name,
      claim: claim.id,
      action: getsVm ? 'replace' : 'keep',
      strategy: getsVm && oldVm ? strategy : null,
      reasons,
      destructive: oldVm !== null,
    });
    if (reasons.length === 0) return;
    const unit = this.unit(name, claim.group, reasons);

    // The persistent volume is detached before its holder is deleted and before the new VM takes it.
    const volume = e.volume;
    const holder = volume?.server_id ?? null;
    const holderRetires = holder !== null && retiring.some((s) => s.id === holder);
    const holderStale = holder !== null && getsVm && holder !== e.server?.id && !this.serverKnown(holder);
    if (holder !== null && getsVm && !holderRetires && !holderStale && holder !== e.server?.id) {
      this.warnings.push(
        `${name}: its disk ${volume?.id ?? ''} is attached to ${holder}, which is not its server; left alone`,
      );
    }
    const hotSwap = getsVm && oldVm !== null && strategy === 'hot_swap';

    // hot_swap: the new VM exists and is associated before the old one goes.
    const early = hotSwap ? this.createVm(unit, claim, e.record.id, []) : null;
    const detach =
      volume && holder !== null && (holderRetires || holderStale)
        ? unit.detachDisk(volume, holder, [holder === oldVm?.id ? early : null])
        : null;
    const associated = early
      ? unit.associate({ claim, instanceId: e.record.id, createStep: early, dependsOn: [early, detach] })
      : null;

    let freed: string | null = null;
    for (const server of retiring) {
      const isOld = server.id === oldVm?.id;
      const why = isOld ? undefined : [this.retireReason(e, server, name)];
      const del = unit.deleteServer(
        server,
        [holder === server.id ? detach : null, isOld ? associated : null],
        isOld,
        why,
      );
      const alloc = this.allocationOf(server);
      const rel = alloc ? unit.releaseQuota(alloc, server.id, [del], why) : null;
      if (isOld) freed = rel ?? del;
    }
    // delete_create: after the old VM is gone and its quota released. A missing VM: at once.
    if (getsVm && !early) {
      const create = this.createVm(unit, claim, e.record.id, [freed]);
      unit.associate({ claim, instanceId: e.record.id, createStep: create, dependsOn: [create, detach] });
    }
    if (volume && holderRetires && !getsVm && needsVm(e)) {
      this.warnings.push(
        `${name}: its disk ${volume.id} was attached to a server being deleted; it stays free until the instance is recreated`,
      );
    }
  }

  private upToDate(claim: Claim, e: EmbodiedInstance, name: string): boolean {
    const s = e.server;
    return (
      e.record.state === 'started' &&
      s !== null &&
      s.state !== 'ERROR' &&
      s.tags[TAG.fingerprint] === claim.fingerprint &&
      e.duplicates.length === 0 &&
      (e.volume === null || e.volume.server_id === s.id) &&
      !this.recreateAsked(claim, e.record, name)
    );
  }

  /** Why a started instance needs a new VM, in a fixed order; empty when it is up to date. */
  private replacementReasons(claim: Claim, e: EmbodiedInstance, name: string): string[] {
    const reasons: string[] = [];
    const server = e.server;
    if (server === null) {
      reasons.push(e.condition === 'in-flight' ? REASON.missingVmDeleting : REASON.missingVm);
      return reasons;
    }
    if (server.state === 'ERROR') reasons.push(REASON.failed);
    if (server.tags[TAG.fingerprint] !== claim.fingerprint)
      reasons.push(...vmChanges(claim, server, this.specs));
    if (this.recreateAsked(claim, e.record, name)) reasons.push(REASON.recreate);
    return reasons;
  }

  /** Stopped and detached instances are digressions: say what waits for `start`. */
  private digressionWarnings(claim: Claim, e: EmbodiedInstance, name: string): void {
    if (e.record.state !== 'stopped') return;
    if (e.server === null) {
      this.warnings.push(`${name} is stopped and has no VM; start creates one`);
      return;
    }
    const pending = [
      ...(e.server.state === 'ERROR' ? [REASON.failed] : []),
      ...(e.server.tags[TAG.fingerprint] !== claim.fingerprint ? vmChanges(claim, e.server, this.specs) : []),
    ];
    if (pending.length > 0)
      this.warnings.push(
        `${name} is stopped: its VM is kept; on start it needs replacing (${pending.join('; ')})`,
      );
  }

  private retireReason(e: EmbodiedInstance, server: Server, name: string): string {
    if (server.state === 'DELETING')
      return `server ${server.id} of ${name} is being deleted: await it and release its quota`;
    if (this.orphans.has(server.id)) return `${REASON.orphan} (${server.id} holds the disk of ${name})`;
    const kept = e.server;
    const hasVolume = (s: Server): boolean => e.volume !== null && e.volume.server_id === s.id;
    return kept
      ? `duplicate server ${server.id} of ${name}: kept ${kept.id} (${whyKept(kept, server, { hasVolume })})`
      : `duplicate server ${server.id} of ${name}`;
  }

  /** Servers this instance's unit deletes: the old VM (if any), duplicates, orphans holding its disk. */
  private retiringServers(e: EmbodiedInstance, oldVm: Server | null): Server[] {
    const holding = this.orphansHolding(e);
    for (const s of holding) this.orphansTaken.add(s.id);
    return [...(oldVm ? [oldVm] : []), ...e.duplicates, ...holding];
  }

  private orphansHolding(e: EmbodiedInstance): Server[] {
    const holder = e.volume?.server_id ?? null;
    const orphan = holder === null ? undefined : this.orphans.get(holder);
    return orphan ? [orphan] : [];
  }

  private known: Set<string> | null = null;
  /** Is the server in the embodiment at all (an instance's, a duplicate, an orphan)? */
  private serverKnown(id: string): boolean {
    if (this.known === null) {
      this.known = new Set(this.orphans.keys());
      for (const i of this.embodiment.instances) {
        if (i.server) this.known.add(i.server.id);
        for (const d of i.duplicates) this.known.add(d.id);
      }
    }
    return this.known.has(id);
  }

  private allocationOf(server: Server): Allocation | null {
    const id = server.tags[TAG.allocation];
    return id === undefined ? null : (this.allocations.get(id) ?? null);
  }

  // -- instances without a claim: scale down, removed groups -------------------------------

  private remove(obsolete: Obsolete<EmbodiedInstance>): void {
    const e = obsolete.item;
    const name = instanceName(e.record);
    const unit = this.unit(name, obsolete.group, [obsolete.reason]);
    const volume = e.volume;
    const holder = volume?.server_id ?? null;
    const servers = [...(e.server ? [e.server] : []), ...e.duplicates, ...this.orphansHolding(e)];
    for (const s of this.orphansHolding(e)) this.orphansTaken.add(s.id);
    const detach = volume && holder !== null ? unit.detachDisk(volume, holder, []) : null;
    for (const server of servers) {
      const del = unit.deleteServer(server, [server.id === holder ? detach : null], true);
      const alloc = this.allocationOf(server);
      if (alloc) unit.releaseQuota(alloc, server.id, [del]);
    }
    if (volume) unit.deleteDisk(volume, [detach]);
    this.plans.push({
      instance: name,
      claim: null,
      action: 'delete',
      strategy: null,
      reasons: [obsolete.reason],
      destructive: servers.length > 0 || volume !== null,
    });
  }

  /** A group gone while another appears without adopting it: BOSH users expect migrated_from. */
  private renameWarnings(obsolete: readonly Obsolete<EmbodiedInstance>[]): void {
    const gone = new Map<string, number>();
    for (const o of obsolete)
      if (o.group === '') gone.set(o.item.record.group, (gone.get(o.item.record.group) ?? 0) + 1);
    const adopted = new Set(this.embodiment.instances.map((i) => i.record.group));
    const fresh = this.patent.groups
      .filter((g) => g.instances > 0 && !adopted.has(g.name))
      .map((g) => g.name);
    if (fresh.length === 0) return;
    for (const [group, count] of [...gone].sort(([a], [b]) => compareCodeUnits(a, b))) {
      this.warnings.push(
        `group ${group} is gone and ${fresh.join(', ')} ${fresh.length === 1 ? 'is' : 'are'} new: its ${count} instance${count === 1 ? '' : 's'} will be deleted and new ones created; ` +
          `add migrated_from: [{name: ${group}}] to the new group to keep them`,
      );
    }
  }

  // -- cleanup: orphans, strays -------------------------------------------------------------

  private orphan(server: Server): void {
    const reason =
      server.state === 'DELETING'
        ? `server ${server.id} is being deleted: await it and release its quota`
        : REASON.orphan;
    const unit = this.unit(`orphan/${server.id}`, '', [reason]);
    const strays = this.embodiment.strayVolumes.filter((v) => v.server_id === server.id);
    const detaches = strays.map((v) => unit.detachDisk(v, server.id, []));
    const del = unit.deleteServer(server, detaches, false);
    const alloc = this.allocationOf(server);
    if (alloc) unit.releaseQuota(alloc, server.id, [del]);
    strays.forEach((v, i) => unit.deleteDisk(v, [detaches[i] ?? null], [REASON.strayVolume]));
  }

  private strayVolume(volume: Volume): void {
    const holder = volume.server_id;
    if (holder !== null && this.orphans.has(holder)) return; // cleaned up with its orphan
    if (holder !== null && this.serverKnown(holder)) {
      this.warnings.push(
        `stray volume ${volume.id} is attached to ${holder}, a server still in use: left alone`,
      );
      return;
    }
    const unit = this.unit(`stray/${volume.id}`, '', [REASON.strayVolume]);
    const detach = holder === null ? null : unit.detachDisk(volume, holder, []);
    unit.deleteDisk(volume, [detach]);
  }
}
