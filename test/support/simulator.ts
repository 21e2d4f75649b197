// A small pure cloud for planner tests: applies obligation steps to an Observed, as the region
// would, and refuses what the region refuses (releasing an allocation whose server still exists,
// deleting an attached volume, associating a server that does not exist). Deterministic: ids and
// clocks come from counters, never from randomness.
import { TAG, type Observed, type Server, type Volume } from '../../src/domain/cloud';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Obligation, Step } from '../../src/planner/types';

export interface World {
  observed: Observed;
  records: InstanceRecord[];
}

export const emptyObserved = (): Observed => ({ servers: [], allocations: [], volumes: [] });

export class Simulator {
  private readonly observed: Observed;
  /** create-vm step id → the server it created (what the enactor remembers between steps). */
  private readonly created = new Map<string, string>();
  private seq: number;

  constructor(
    observed: Observed,
    private readonly prefix = 'sim',
    /** The operation enacting the steps: create-vm tags what it makes with it, as the activity does. */
    private readonly operation = 'op-sim',
  ) {
    this.observed = structuredClone(observed);
    // Continue numbering after any ids an earlier simulator gave out, so ids never collide.
    const ids = [...observed.servers, ...observed.allocations, ...observed.volumes].map((x) => x.id);
    this.seq = ids.reduce((max, id) => Math.max(max, Number(/-(\d+)$/.exec(id)?.[1] ?? 0)), 0);
  }

  private next(kind: string): string {
    this.seq += 1;
    return `${this.prefix}-${kind}-${String(this.seq).padStart(5, '0')}`;
  }

  private server(id: string): Server | undefined {
    return this.observed.servers.find((s) => s.id === id);
  }

  private volume(id: string): Volume | undefined {
    return this.observed.volumes.find((v) => v.id === id);
  }

  apply(step: Step): void {
    const o = this.observed;
    switch (step.kind) {
      case 'create-vm': {
        const allocation = {
          id: this.next('a'),
          pool: step.pool,
          key: step.id,
          ...step.quota,
          tags: {
            [TAG.deployment]: step.spec.tags[TAG.deployment] ?? '',
            [TAG.claim]: step.claim,
            [TAG.operation]: this.operation,
          },
        };
        o.allocations.push(allocation);
        const id = this.next('s');
        const ip =
          step.spec.static_ip ?? `10.200.${Math.floor(this.seq / 250) % 250}.${(this.seq % 250) + 1}`;
        o.servers.push({
          id,
          name: step.spec.name,
          state: 'ACTIVE',
          power: 'running',
          health: 'healthy',
          addresses: [
            { network: step.spec.network, ip, mac: `fa:16:3e:00:${(this.seq >> 8) & 255}:${this.seq & 255}` },
          ],
          az: step.spec.az,
          image: { ...step.spec.image },
          cpus: step.spec.cpus,
          memory_mb: step.spec.memory_mb,
          disk_gb: step.spec.disk_gb,
          tags: {
            ...step.spec.tags,
            [TAG.deployment]: step.spec.tags[TAG.deployment] ?? '',
            [TAG.claim]: step.claim,
            [TAG.operation]: this.operation,
            [TAG.allocation]: allocation.id,
          },
          created_at: new Date(Date.UTC(2030, 0, 1) + this.seq * 1000).toISOString(),
        });
        this.created.set(step.id, id);
        return;
      }
      case 'associate-vm-to-instance': {
        const id = step.existingServer ?? this.created.get(step.createStep ?? '');
        const server = id === undefined ? undefined : this.server(id);
        if (!server) throw new Error(`${step.id}: no server from ${step.createStep}`);
        server.tags[TAG.instance] = step.instanceId;
        if (step.disk === null) return;
        const mine = o.volumes.filter((v) => v.tags[TAG.instance] === step.instanceId);
        const free = mine.filter((v) => v.server_id === null).sort((a, b) => (a.id < b.id ? -1 : 1))[0];
        const moving = step.movesDisk
          ? mine.find((v) => v.id === step.movesDisk?.volumeId && v.server_id === step.movesDisk.from)
          : undefined;
        if (free) {
          free.server_id = server.id;
        } else if (moving) {
          moving.server_id = server.id; // hot_swap: the planner said this associate takes it from the old VM
        } else if (mine.length > 0) {
          throw new Error(
            `${step.id}: the instance's disk is still attached to ${mine[0]?.server_id ?? '?'}`,
          );
        } else {
          o.volumes.push({
            id: this.next('v'),
            pool: 'sim',
            size_gb: step.disk.size_gb,
            tags: { [TAG.deployment]: server.tags[TAG.deployment] ?? '', [TAG.instance]: step.instanceId },
            server_id: server.id,
          });
        }
        return;
      }
      case 'detach-disk': {
        const v = this.volume(step.volumeId);
        if (v) v.server_id = null;
        return;
      }
      case 'delete-server': {
        // The region detaches volumes of a deleted server; the planner detaches the ones it keeps first.
        this.observed.servers = o.servers.filter((s) => s.id !== step.serverId);
        for (const v of o.volumes) if (v.server_id === step.serverId) v.server_id = null;
        return;
      }
      case 'release-quota': {
        const holder = o.servers.find((s) => s.tags[TAG.allocation] === step.allocationId);
        if (holder)
          throw new Error(`${step.id}: two-stage violated, ${holder.id} still holds ${step.allocationId}`);
        this.observed.allocations = o.allocations.filter((a) => a.id !== step.allocationId);
        return;
      }
      case 'delete-disk': {
        const v = this.volume(step.volumeId);
        if (v && v.server_id !== null && this.server(v.server_id))
          throw new Error(`${step.id}: volume attached to ${v.server_id}`);
        this.observed.volumes = o.volumes.filter((x) => x.id !== step.volumeId);
        return;
      }
      case 'power-off':
      case 'power-on':
      case 'reboot': {
        const id = step.serverId ?? this.created.get(step.createStep ?? '');
        const server = id === undefined ? undefined : this.server(id);
        if (!server) throw new Error(`${step.id}: no server ${id ?? `from ${step.createStep}`}`);
        const off = step.kind === 'power-off';
        server.power = off ? 'stopped' : 'running';
        server.state = off ? 'SHUTOFF' : 'ACTIVE';
        return;
      }
    }
  }

  snapshot(): Observed {
    return structuredClone(this.observed);
  }
}

/** Enact a whole obligation in the given order (default: its own topological order). */
export function enact(
  observed: Observed,
  obligation: Obligation,
  order: readonly Step[] = obligation.steps,
  prefix = 'sim',
): World {
  const sim = new Simulator(observed, prefix);
  for (const step of order) sim.apply(step);
  return { observed: sim.snapshot(), records: obligation.records };
}

/** A random topological order of the steps, drawn with the given random source (fast-check's). */
export function randomTopoOrder(steps: readonly Step[], pick: (n: number) => number): Step[] {
  const left = new Map(steps.map((s) => [s.id, new Set(s.dependsOn)]));
  const byId = new Map(steps.map((s) => [s.id, s]));
  const out: Step[] = [];
  while (left.size > 0) {
    const ready = [...left]
      .filter(([, deps]) => deps.size === 0)
      .map(([id]) => id)
      .sort();
    if (ready.length === 0) throw new Error('cycle');
    const id = ready[pick(ready.length)] as string;
    left.delete(id);
    for (const deps of left.values()) deps.delete(id);
    const step = byId.get(id);
    if (step) out.push(step);
  }
  return out;
}
