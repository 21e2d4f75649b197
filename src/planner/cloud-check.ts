// Cloud check (BOSH's `cck`): what is wrong between the instances and the cloud, each problem with
// the resolutions that apply, and the obligation that applies one resolution. Pure. It reads the
// embodiment's own classification (conditions, duplicates, orphans, strays) instead of deriving it
// again, and a resolution is a part of the obligation reconcile plans anyway: the same steps, with
// the same ids and reasons, restricted to the problems the resolution fits.
import { TAG, type Server, type Volume } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import { whyKept } from './compare';
import { sumQuota, unitsPeak } from './quota';
import { Unit } from './steps';
import { embodiment as embody } from './embodiment';
import { reconcile } from './reconcile';
import type { Observed } from '../domain/cloud';
import type {
  Claim,
  EmbodiedInstance,
  Embodiment,
  Obligation,
  Patent,
  ReconcileOptions,
  Step,
} from './types';

export const PROBLEM_KINDS = [
  'missing-vm',
  'vm-error',
  'unattached-disk',
  'duplicate-server',
  'orphan-server',
  'orphan-volume',
  'orphan-allocation',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export const RESOLUTIONS = [
  'recreate-vm',
  'delete-vm-reference',
  'reattach-disk',
  'delete-orphan',
  'ignore',
] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface Problem {
  /** Stable across checks while the problem lasts: `<kind>:<instance uuid | object id>`. */
  id: string;
  kind: ProblemKind;
  /** `<group>/<uuid>` of the instance concerned, or null for an orphan. */
  instance: string | null;
  /** The cloud object: a server, volume or allocation id; the instance uuid for a missing VM. */
  object: string;
  description: string;
  /** What may be done about it, `ignore` last. */
  resolutions: Resolution[];
}

const name = (r: InstanceRecord): string => `${r.group}/${r.id}`;
const serverLabel = (s: Server): string => (s.name ? `${s.id} (${s.name})` : s.id);

/**
 * Every problem, in a stable order: per instance (as the embodiment sorts them) its VM, its disk and
 * its duplicates, then orphan servers, volumes and allocations by id. Not problems: a detached
 * (hard-stopped) instance without a VM, a server in BUILD, a DELETING server (on its way out), an
 * instance's extra volumes (the planner leaves them alone too).
 *
 * Worked example: deployment web, instance api/u1 started with no server, instance db/u2 whose VM
 * s-2 is ACTIVE and whose disk v-2 has `server_id: null`, and a server s-9 tagged web with no
 * `converge.instance` → `missing-vm:u1` (recreate-vm, delete-vm-reference, ignore),
 * `unattached-disk:v-2` (reattach-disk, ignore), `orphan-server:s-9` (delete-orphan, ignore).
 */
export function cloudCheck(e: Embodiment): Problem[] {
  const problems: Problem[] = [];
  for (const i of e.instances) problems.push(...instanceProblems(e.deployment, i));
  for (const s of e.orphans) {
    if (s.state === 'DELETING') continue;
    problems.push({
      id: `orphan-server:${s.id}`,
      kind: 'orphan-server',
      instance: null,
      object: s.id,
      description: `server ${serverLabel(s)} (${s.state}) is tagged for deployment ${e.deployment} but no instance owns it`,
      resolutions: ['delete-orphan', 'ignore'],
    });
  }
  for (const v of e.strayVolumes) {
    problems.push({
      id: `orphan-volume:${v.id}`,
      kind: 'orphan-volume',
      instance: null,
      object: v.id,
      description:
        `volume ${v.id} (${v.size_gb} GB) is tagged for deployment ${e.deployment} but its instance ` +
        `${v.tags[TAG.instance] ?? '(none)'} does not exist` +
        (v.server_id === null ? '' : `; attached to ${v.server_id}`),
      resolutions: ['delete-orphan', 'ignore'],
    });
  }
  for (const a of e.strayAllocations) {
    problems.push({
      id: `orphan-allocation:${a.id}`,
      kind: 'orphan-allocation',
      instance: null,
      object: a.id,
      description:
        `allocation ${a.id} (pool ${a.pool}: ${a.cpus} cpus, ${a.memory_mb} MB) is tagged for ` +
        `deployment ${e.deployment} but no server consumes it`,
      resolutions: ['delete-orphan', 'ignore'],
    });
  }
  return problems;
}

function instanceProblems(deployment: string, i: EmbodiedInstance): Problem[] {
  const out: Problem[] = [];
  const n = name(i.record);
  // A stopped instance keeps whatever VM it has until `start`: recreating one here would start it.
  const vmFixes: Resolution[] =
    i.record.state === 'started'
      ? ['recreate-vm', 'delete-vm-reference', 'ignore']
      : ['delete-vm-reference', 'ignore'];
  if (i.condition === 'missing-vm') {
    out.push({
      id: `missing-vm:${i.record.id}`,
      kind: 'missing-vm',
      instance: n,
      object: i.record.id,
      description: `instance ${n} (${i.record.group}/${i.record.index}) has no VM in the cloud`,
      resolutions: vmFixes,
    });
  }
  if (i.condition === 'failed' && i.server) {
    out.push({
      id: `vm-error:${i.server.id}`,
      kind: 'vm-error',
      instance: n,
      object: i.server.id,
      description: `VM ${serverLabel(i.server)} of instance ${n} is in ERROR`,
      resolutions: vmFixes,
    });
  }
  const server = i.server;
  const disk = i.volume;
  if (
    disk &&
    server &&
    i.condition !== 'detached' &&
    (server.state === 'ACTIVE' || server.state === 'SHUTOFF') &&
    disk.server_id !== server.id
  ) {
    out.push({
      id: `unattached-disk:${disk.id}`,
      kind: 'unattached-disk',
      instance: n,
      object: disk.id,
      description:
        `disk ${disk.id} of instance ${n} is not attached to its VM ${server.id}` +
        (disk.server_id === null ? ' (it is free)' : ` (it is attached to ${disk.server_id})`),
      resolutions: ['reattach-disk', 'ignore'],
    });
  }
  const hasVolume = (s: Server): boolean => disk !== null && disk.server_id === s.id;
  for (const d of i.duplicates) {
    if (d.state === 'DELETING') continue;
    out.push({
      id: `duplicate-server:${d.id}`,
      kind: 'duplicate-server',
      instance: n,
      object: d.id,
      description: server
        ? `two servers for instance ${n} of ${deployment}: ${serverLabel(d)} duplicates ${server.id} ` +
          `(kept ${server.id}: ${whyKept(server, d, { hasVolume })})`
        : `two servers for instance ${n} of ${deployment}: ${serverLabel(d)}`,
      resolutions: ['delete-orphan', 'ignore'],
    });
  }
  return out;
}

/** The problems `resolution` fits (all of them for `ignore`). */
export function problemsFitting(problems: readonly Problem[], resolution: Resolution): Problem[] {
  return problems.filter((p) => p.resolutions.includes(resolution));
}

/**
 * The records the operation plans from: `delete-vm-reference` makes each instance it fits detached
 * (BOSH deletes the VM's reference; here the instance keeps its uuid and disk, gets no VM, and
 * `converge start` gives it one again), so reconcile plans deleting an ERROR VM two-stage.
 */
export function recordsForResolution(
  records: readonly InstanceRecord[],
  problems: readonly Problem[],
  resolution: Resolution,
): InstanceRecord[] {
  if (resolution !== 'delete-vm-reference') return [...records];
  const picked = new Set(problemsFitting(problems, resolution).map((p) => p.instance));
  return records.map((r) => (picked.has(name(r)) ? { ...r, state: 'detached' } : r));
}

/** The instances `recreate-vm` asks reconcile to replace (as `converge recreate` names them). */
export function recreateFor(problems: readonly Problem[], resolution: Resolution): string[] {
  if (resolution !== 'recreate-vm') return [];
  return problemsFitting(problems, resolution).flatMap((p) => (p.instance === null ? [] : [p.instance]));
}

export interface Resolved {
  /** The steps that apply the resolution, and the records after them. */
  obligation: Obligation;
  /** The problems it is applied to. */
  applied: Problem[];
}

/**
 * Restricts `full` (reconcile's obligation for the same embodiment and records, with `recreateFor`
 * and `recordsForResolution` applied) to the problems `resolution` fits:
 * - recreate-vm, delete-vm-reference: the instance's whole unit (replace or delete two-stage);
 * - delete-orphan: the steps deleting those servers, volumes and allocations, with what they wait on
 *   (an orphan's disk detached first; a duplicate's quota released after it is gone);
 * - reattach-disk: not in `full` (a deploy leaves a free disk alone): associate the instance's own VM
 *   again, which attaches its disk (after detaching it from another server if it is on one);
 * - ignore: nothing.
 * Records change only for the instances whose units are taken; quota peak and refusals are
 * recomputed for what is left. Edges never cross units, so the result is still a valid DAG.
 */
export function resolve(args: {
  full: Obligation;
  embodiment: Embodiment;
  records: readonly InstanceRecord[];
  claims: readonly Claim[];
  problems: readonly Problem[];
  resolution: Resolution;
}): Resolved {
  const { full, embodiment: e, resolution } = args;
  const applied = resolution === 'ignore' ? [] : problemsFitting(args.problems, resolution);
  const wholeUnits = new Set<string>();
  const objects = new Set<string>();
  for (const p of applied) {
    if (resolution === 'recreate-vm' || resolution === 'delete-vm-reference') {
      if (p.instance !== null) wholeUnits.add(p.instance);
    } else if (resolution === 'delete-orphan') objects.add(p.object);
  }
  const byId = new Map(full.steps.map((s) => [s.id, s] as const));
  const taken = new Set<string>();
  const take = (s: Step): void => {
    if (taken.has(s.id)) return;
    taken.add(s.id);
    for (const d of s.dependsOn) {
      const dep = byId.get(d);
      if (dep) take(dep);
    }
  };
  for (const s of full.steps) {
    if (wholeUnits.has(s.unit) || touches(s, objects)) take(s);
  }
  const steps = full.steps.filter((s) => taken.has(s.id));
  if (resolution === 'reattach-disk') steps.push(...reattachSteps(e, args.claims, applied));

  const units = new Set(steps.map((s) => s.unit));
  const planned = new Map(full.records.map((r) => [r.id, r] as const));
  const records = args.records.flatMap((r) => {
    if (!wholeUnits.has(name(r))) return [r];
    const after = planned.get(r.id);
    return after ? [after] : [];
  });
  const stepsOfUnit = new Map<string, Step[]>();
  for (const s of steps) {
    const list = stepsOfUnit.get(s.unit);
    if (list) list.push(s);
    else stepsOfUnit.set(s.unit, [s]);
  }
  const obligation: Obligation = {
    deployment: full.deployment,
    steps,
    instances: full.instances.filter((p) => wholeUnits.has(p.instance)),
    groups: full.groups,
    quotaPeak: unitsPeak(sumQuota(e.allocations), [...stepsOfUnit.values()]),
    records,
    warnings: full.warnings.filter((w) => [...units].some((u) => w.includes(u))),
    refusals: full.refusals.filter((r) => units.has(r.instance)),
  };
  return { obligation, applied };
}

/** Does the step delete one of `objects` (a server, its allocation, a volume)? */
function touches(s: Step, objects: ReadonlySet<string>): boolean {
  switch (s.kind) {
    case 'delete-server':
      return objects.has(s.serverId);
    case 'release-quota':
      return objects.has(s.allocationId) || (s.serverId !== null && objects.has(s.serverId));
    case 'delete-disk':
      return objects.has(s.volumeId);
    default:
      return false;
  }
}

function reattachSteps(e: Embodiment, claims: readonly Claim[], applied: readonly Problem[]): Step[] {
  const claimOf = new Map(claims.map((c) => [c.id, c] as const));
  const steps: Step[] = [];
  const picked = new Set(applied.map((p) => p.instance));
  for (const i of e.instances) {
    const n = name(i.record);
    if (!picked.has(n) || !i.server || !i.volume) continue;
    const claim = claimOf.get(`${i.record.group}/${i.record.index}`);
    // The disk spec comes from the claim; an instance the manifest no longer claims is left alone.
    if (!claim) continue;
    const disk: Volume = i.volume;
    const unit = new Unit(n, i.record.group, [
      `cck: reattach disk ${disk.id} to ${i.server.id}` +
        (disk.server_id === null ? '' : ` (detach it from ${disk.server_id} first)`),
    ]);
    const detach = disk.server_id === null ? null : unit.detachDisk(disk, disk.server_id, []);
    unit.associate({
      claim,
      instanceId: i.record.id,
      createStep: null,
      existingServer: i.server.id,
      dependsOn: [detach],
    });
    steps.push(...unit.steps);
  }
  return steps;
}

/**
 * The whole cloud check, as the operation runs it: the problems of (observed, records), and the
 * obligation that applies `resolution` to those it fits (none for a report: `resolution` null).
 * `patent` is the deployment's manifest as deployed; `options.recreate` is set here.
 */
export function planResolution(args: {
  patent: Patent;
  observed: Observed;
  records: readonly InstanceRecord[];
  resolution: Resolution | null;
  options: ReconcileOptions;
}): { problems: Problem[]; resolved: Resolved } {
  const { patent, observed, options } = args;
  const resolution = args.resolution ?? 'ignore';
  const problems = cloudCheck(embody(patent.deployment, observed, args.records));
  const records = recordsForResolution(args.records, problems, resolution);
  const e = embody(patent.deployment, observed, records);
  const full = reconcile(patent, e, { ...options, recreate: recreateFor(problems, resolution) });
  const resolved = resolve({ full, embodiment: e, records, claims: patent.claims, problems, resolution });
  return { problems, resolved };
}
