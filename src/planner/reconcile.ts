// The reconciler: (patent, embodiment, options) → obligation. Pure and deterministic.
// Reads top to bottom: adopt existing instances into claim slots, then plan each claim, each
// obsolete instance, each orphan and stray; order the steps; compute the quota peak.
import { TAG, type Allocation, type Server, type Volume } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import type { VmStrategy } from '../domain/manifest';
import { adopt, type Obsolete, type Slotted } from './adopt';
import { addressRefusals } from './liveness';
import { SurgeRoom } from './addresses';
import { compareCodeUnits } from './canonical';
import { whyKept } from './compare';
import { derivedUuid } from './hash';
import { powerFor, type PowerNeed } from './power';
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

/** The operation's part of a new instance's uuid: the sequence, qualified by the incarnation if known. */
const uuidSeed = (o: ReconcileOptions): string =>
  o.incarnation === undefined ? String(o.operationSeq) : `${o.operationSeq}@${o.incarnation}`;

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
  /** Room in each subnet for hot_swap's second address per instance (addresses.ts). */
  private readonly surge: SurgeRoom;
  /** Orphans deleted inside an instance's unit because they hold its volume. */
  private readonly orphansTaken = new Set<string>();
  /** Every server consuming each allocation (normally one; a retried create can leave two). */
  private readonly consumers = new Map<string, Server[]>();
  /** Orphans tied to an instance: holding its disk, or sharing an allocation with its servers. */
  private readonly orphanTies = new Map<string, Server[]>();

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
    this.surge = new SurgeRoom(options.dynamicAddresses ?? new Map(), patent.claims);
    this.tieOrphans();
  }

  private tieOrphans(): void {
    const ownerOfServer = new Map<string, string>();
    const ownerOfAllocation = new Map<string, string>();
    const ownerOfVolumeHolder = new Map<string, string>();
    const consume = (server: Server): void => {
      const a = server.tags[TAG.allocation];
      if (a === undefined) return;
      const list = this.consumers.get(a);
      if (list) list.push(server);
      else this.consumers.set(a, [server]);
    };
    for (const e of this.embodiment.instances) {
      for (const server of [...(e.server ? [e.server] : []), ...e.duplicates]) {
        consume(server);
        ownerOfServer.set(server.id, e.record.id);
        const a = server.tags[TAG.allocation];
        if (a !== undefined && !ownerOfAllocation.has(a)) ownerOfAllocation.set(a, e.record.id);
      }
      if (e.volume?.server_id != null) ownerOfVolumeHolder.set(e.volume.server_id, e.record.id);
    }
    for (const orphan of this.embodiment.orphans) {
      consume(orphan);
      const a = orphan.tags[TAG.allocation];
      const owner =
        ownerOfVolumeHolder.get(orphan.id) ?? (a === undefined ? undefined : ownerOfAllocation.get(a));
      if (owner === undefined) continue;
      const list = this.orphanTies.get(owner);
      if (list) list.push(orphan);
      else this.orphanTies.set(owner, [orphan]);
    }
  }

  /**
   * delete-server for each server, then one release-quota per allocation they held, after every
   * server of this unit holding it is deleted, and none while a server outside the unit still
   * holds it (two-stage: an allocation is released only once nothing consumes it).
   */
  private retire(
    unit: Unit,
    servers: readonly {
      server: Server;
      dependsOn: (string | null)[];
      destructive: boolean;
      reasons?: string[];
    }[],
  ): { deleted: Map<string, string>; released: Map<string, string> } {
    const deleted = new Map<string, string>();
    for (const s of servers)
      deleted.set(s.server.id, unit.deleteServer(s.server, s.dependsOn, s.destructive, s.reasons));
    const released = new Map<string, string>();
    for (const s of servers) {
      const id = s.server.tags[TAG.allocation];
      const allocation = id === undefined ? undefined : this.allocations.get(id);
      if (id === undefined || !allocation || released.has(id)) continue;
      const holders = this.consumers.get(id) ?? [s.server];
      if (!holders.every((h) => deleted.has(h.id))) continue;
      const first = [...holders].sort((a, b) => compareCodeUnits(a.id, b.id))[0] ?? s.server;
      released.set(
        id,
        unit.releaseQuota(
          allocation,
          first.id,
          holders.map((h) => deleted.get(h.id) ?? null),
          s.reasons,
        ),
      );
    }
    return { deleted, released };
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
    const refusals = addressRefusals(
      patent.deployment,
      steps,
      this.groups,
      this.plans.map((p) => p.instance),
      embodiment,
    );
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
      refusals,
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
    const full = chosen === 'hot_swap' ? this.surge.take(claim) : null;
    if (full !== null) return { strategy: 'delete_create', note: full };
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
    const id = derivedUuid(this.patent.deployment, claim.id, uuidSeed(this.options));
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
    const record: InstanceRecord = {
      id: r.id,
      group: claim.group,
      index: claim.index,
      az: claim.az,
      bootstrap: claim.bootstrap,
      state: r.state,
    };
    this.records.push(record);

    // Fast path for most of a large deployment: up to date, nothing to clean up (its power aside).
    if (this.upToDate(claim, e, name)) {
      const power = this.powerOf(claim, e, record, e.server, false);
      this.plans.push({
        instance: name,
        claim: claim.id,
        action: 'keep',
        strategy: null,
        reasons: power ? [power.reason] : [],
        destructive: false,
      });
      if (power && e.server) this.powerAlone(name, claim, power, e.server.id);
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
    const power = this.powerOf(claim, e, record, dropVm ? null : e.server, getsVm);
    this.plans.push({
      instance: name,
      claim: claim.id,
      action: getsVm ? 'replace' : 'keep',
      strategy: getsVm && oldVm ? strategy : null,
      reasons: power ? [...reasons, power.reason] : reasons,
      destructive: oldVm !== null,
    });
    if (reasons.length === 0) {
      if (power && e.server) this.powerAlone(name, claim, power, e.server.id);
      return;
    }
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
    // The disk on the old VM moves inside associate (which never deletes anything), so the old VM
    // still goes only after the new one holds the disk.
    const moves = hotSwap && volume && holder === oldVm?.id ? { volumeId: volume.id, from: holder } : null;
    const detach =
      volume && holder !== null && (holderRetires || holderStale) && moves === null
        ? unit.detachDisk(volume, holder, [holder === oldVm?.id ? early : null])
        : null;
    const associated = early
      ? unit.associate({
          claim,
          instanceId: e.record.id,
          createStep: early,
          dependsOn: [early, detach],
          ...(moves ? { moves } : {}),
        })
      : null;

    const { deleted, released } = this.retire(
      unit,
      retiring.map((server) => {
        const isOld = server.id === oldVm?.id;
        return {
          server,
          dependsOn: [holder === server.id ? detach : null, isOld ? associated : null],
          destructive: isOld,
          ...(isOld ? {} : { reasons: [this.retireReason(e, server, name)] }),
        };
      }),
    );
    const oldAllocation = oldVm?.tags[TAG.allocation];
    const freed = oldVm
      ? ((oldAllocation === undefined ? undefined : released.get(oldAllocation)) ??
        deleted.get(oldVm.id) ??
        null)
      : null;
    // delete_create: after the old VM is gone and its quota released. A missing VM: at once.
    let built = early && associated ? { create: early, associated } : null;
    if (getsVm && !early) {
      const create = this.createVm(unit, claim, e.record.id, [freed]);
      const a = unit.associate({
        claim,
        instanceId: e.record.id,
        createStep: create,
        dependsOn: [create, detach],
      });
      built = { create, associated: a };
    }
    // Power acts on the VM the instance ends with: a new one only once it is associated.
    if (power && built) this.power(unit, power, claim, { createStep: built.create }, [built.associated]);
    else if (power && e.server && !dropVm) this.power(unit, power, claim, { serverId: e.server.id }, []);
    if (volume && holderRetires && !getsVm && needsVm(e)) {
      this.warnings.push(
        `${name}: its disk ${volume.id} was attached to a server being deleted; it stays free until the instance is recreated`,
      );
    }
  }

  /**
   * The power step the operation asks of this instance (power.ts), if any; an instance action's
   * start or stop sets the planned record's state.
   */
  private powerOf(
    claim: Claim,
    e: EmbodiedInstance,
    record: InstanceRecord,
    vm: Server | null,
    newVm: boolean,
  ): PowerNeed | null {
    if (this.options.power === undefined) return null;
    const r = e.record;
    const names = [
      instanceName(r),
      [r.group, r.index].join('/'),
      instanceName({ group: claim.group, id: r.id }),
      claim.id,
    ];
    const need = powerFor(this.options.power, { state: record.state, names, vm, newVm });
    if (need?.state) record.state = need.state;
    return need;
  }

  /**
   * An instance whose only step is power: a unit of its group, so canaries and max_in_flight pace a
   * stop or start as they pace an update (BOSH's stop and start honour the update block too).
   */
  private powerAlone(name: string, claim: Claim, need: PowerNeed, serverId: string): void {
    this.power(this.unit(name, claim.group, [need.reason]), need, claim, { serverId }, []);
  }

  private power(
    unit: Unit,
    need: PowerNeed,
    claim: Claim,
    vm: { serverId: string } | { createStep: string },
    dependsOn: string[],
  ): void {
    unit.power({ kind: need.kind, claim: claim.id, vm, dependsOn, reasons: [need.reason] });
  }

  private upToDate(claim: Claim, e: EmbodiedInstance, name: string): boolean {
    const s = e.server;
    return (
      e.record.state === 'started' &&
      s !== null &&
      s.state !== 'ERROR' &&
      s.tags[TAG.fingerprint] === claim.fingerprint &&
      e.duplicates.length === 0 &&
      !this.orphanTies.has(e.record.id) &&
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
    return this.orphanTies.get(e.record.id) ?? [];
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
    this.retire(
      unit,
      servers.map((server) => ({
        server,
        dependsOn: [server.id === holder ? detach : null],
        destructive: true,
      })),
    );
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

  /** An orphan, and any other orphans sharing its allocation, deleted in one unit. */
  private orphan(server: Server): void {
    const a = server.tags[TAG.allocation];
    const group = (a === undefined ? [server] : (this.consumers.get(a) ?? [server])).filter(
      (s) => this.orphans.has(s.id) && !this.orphansTaken.has(s.id),
    );
    for (const s of group) this.orphansTaken.add(s.id);
    const reason = (s: Server): string =>
      s.state === 'DELETING'
        ? `server ${s.id} is being deleted: await it and release its quota`
        : REASON.orphan;
    const unit = this.unit(`orphan/${server.id}`, '', [reason(server)]);
    const strays = this.embodiment.strayVolumes.filter(
      (v) => v.server_id !== null && group.some((s) => s.id === v.server_id),
    );
    const detaches = new Map(strays.map((v) => [v.id, unit.detachDisk(v, v.server_id ?? '', [])]));
    this.retire(
      unit,
      group.map((s) => ({
        server: s,
        dependsOn: strays.filter((v) => v.server_id === s.id).map((v) => detaches.get(v.id) ?? null),
        destructive: false,
        reasons: [reason(s)],
      })),
    );
    for (const v of strays) unit.deleteDisk(v, [detaches.get(v.id) ?? null], [REASON.strayVolume]);
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
