// DESIGN §9, checked against the real region: what every integration and chaos test asserts after an
// operation. Returns counts and readable violations rather than throwing, so the chaos harness can
// tabulate them and tests can assert `violations` is empty with a useful message.
import type { CloudConfig } from '../../src/domain/cloud-config';
import { TAG, type Observed } from '../../src/domain/cloud';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Manifest } from '../../src/domain/manifest';
import type { CloudPort, RegionEvent } from '../../src/cloud/port';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner';

export interface InvariantReport {
  /** Tagged servers no instance owns (and not on their way out). */
  orphans: number;
  /** Allocations with no live server consuming them. */
  leakedAllocations: number;
  /** Instances with more than one live server at rest, plus claims with two live servers in one operation. */
  duplicates: number;
  /** Allocations released while their server still existed. */
  twoStageViolations: number;
  /** Steps a fresh reconcile still wants (0 when converged). */
  remainingSteps: number;
  violations: string[];
  observed: Observed;
}

export interface InvariantInput {
  cloud: CloudPort;
  deployment: string;
  records: InstanceRecord[];
  /** When given, the deployment must be converged to this manifest. */
  desired?: { manifest: Manifest; cloudConfig: CloudConfig };
  /** Only events after this sequence number are examined (the test's own history). */
  sinceSeq?: number;
}

export async function observeDeployment(cloud: CloudPort, deployment: string): Promise<Observed> {
  const tag = { [TAG.deployment]: deployment };
  const [servers, allocations, volumes] = await Promise.all([
    cloud.listServers(tag),
    cloud.listAllocations(tag),
    cloud.listVolumes(tag),
  ]);
  return { servers, allocations, volumes };
}

export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const { cloud, deployment, records } = input;
  const observed = await observeDeployment(cloud, deployment);
  const violations: string[] = [];
  const ids = new Set(records.map((r) => r.id));

  // 2. No leak: every allocation belongs to a live server; every server to an instance.
  const liveServers = observed.servers.filter((s) => s.state !== 'DELETING');
  const consumed = new Set(
    observed.servers.map((s) => s.tags[TAG.allocation]).filter((a): a is string => !!a),
  );
  const leaked = observed.allocations.filter((a) => !consumed.has(a.id));
  for (const a of leaked) violations.push(`leaked allocation ${a.id} (${a.key})`);
  const orphans = liveServers.filter((s) => {
    const owner = s.tags[TAG.instance];
    return !owner || !ids.has(owner);
  });
  for (const s of orphans) violations.push(`orphan server ${s.id} (${s.tags[TAG.claim] ?? '?'}, ${s.state})`);

  // 3. No duplicate at rest: one live VM per instance.
  const perInstance = new Map<string, number>();
  for (const s of liveServers) {
    const owner = s.tags[TAG.instance];
    if (owner) perInstance.set(owner, (perInstance.get(owner) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const [owner, n] of perInstance) {
    if (n > 1) {
      duplicates++;
      violations.push(`instance ${owner} has ${n} live servers`);
    }
  }

  // 3 and 4 over the event log: never two live servers for one claim in one operation; never an
  // allocation released before its server was gone.
  const events = (await cloud.events(input.sinceSeq ?? 0)).filter(
    (e) => e.tags[TAG.deployment] === deployment,
  );
  const history = replayEvents(events);
  duplicates += history.claimDuplicates.length;
  violations.push(...history.claimDuplicates, ...history.twoStage);

  // 1. Converged (when the desired state is given).
  let remainingSteps = 0;
  if (input.desired) {
    const p = patent(
      input.desired.manifest,
      input.desired.cloudConfig,
      placementsFor(input.desired.manifest, records),
      { defaultStrategy: 'delete_create' },
    );
    const o = reconcile(p, embodiment(deployment, observed, records), {
      defaultStrategy: 'delete_create',
      operationSeq: 1_000_000,
      operationId: 'invariant-check',
    });
    remainingSteps = o.steps.length;
    if (remainingSteps)
      violations.push(
        `not converged: ${o.steps
          .map((s) => s.id)
          .slice(0, 5)
          .join(', ')}`,
      );
  }

  return {
    orphans: orphans.length,
    leakedAllocations: leaked.length,
    duplicates,
    twoStageViolations: history.twoStage.length,
    remainingSteps,
    violations,
    observed,
  };
}

interface EventFindings {
  claimDuplicates: string[];
  twoStage: string[];
}

/** Walks the region's event log in order. */
export function replayEvents(events: RegionEvent[]): EventFindings {
  const claimDuplicates: string[] = [];
  const twoStage: string[] = [];
  const live = new Map<string, Set<string>>(); // claim+operation → live server ids
  const serverAlive = new Map<string, boolean>();
  const serversOfAllocation = new Map<string, string[]>();
  for (const e of events) {
    const key = `${e.tags[TAG.claim] ?? '?'}@${e.tags[TAG.operation] ?? '?'}`;
    if (e.type === 'server.created') {
      serverAlive.set(e.subject, true);
      const alloc = e.tags[TAG.allocation];
      if (alloc) serversOfAllocation.set(alloc, [...(serversOfAllocation.get(alloc) ?? []), e.subject]);
      const set = live.get(key) ?? new Set<string>();
      set.add(e.subject);
      live.set(key, set);
      if (set.size > 1) claimDuplicates.push(`two live servers for ${key}: ${[...set].join(', ')}`);
    } else if (e.type === 'server.deleted') {
      serverAlive.set(e.subject, false);
      live.get(key)?.delete(e.subject);
    } else if (e.type === 'allocation.released') {
      for (const s of serversOfAllocation.get(e.subject) ?? []) {
        if (serverAlive.get(s)) twoStage.push(`allocation ${e.subject} released while server ${s} existed`);
      }
    }
  }
  return { claimDuplicates, twoStage };
}

/** The sequence number of the newest event, to scope a later check to what happens after now. */
export async function lastEventSeq(cloud: CloudPort): Promise<number> {
  const events = await cloud.events(0);
  return events[events.length - 1]?.seq ?? 0;
}
