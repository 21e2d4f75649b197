// DESIGN §9, checked against the real region: what every integration and chaos test asserts after an
// operation. The judgement (`assessInvariants`) is a pure function of the region's event log, so its
// unit tests feed it hand-made logs with each violation; `checkInvariants` fetches the log and adds
// the convergence check. Reports counts and readable violations rather than throwing, so the chaos
// harness can tabulate them and tests can assert `violations` is empty with a useful message.
import type { CloudConfig } from '../../src/domain/cloud-config';
import { TAG, type Observed, type ServerState, type Tags } from '../../src/domain/cloud';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Manifest } from '../../src/domain/manifest';
import type { CloudPort, RegionEvent } from '../../src/cloud/port';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner';

/** What is judged: one deployment, its instance records after the operation, and the events after `sinceSeq`. */
export interface InvariantWindow {
  deployment: string;
  records: readonly InstanceRecord[];
  /** Only events after this sequence number are judged (the test's own operation); all build the state. */
  sinceSeq?: number;
  /**
   * A scoped window holding no event of the deployment fails: a check of nothing proves nothing.
   * Set this only where the operation is expected to touch nothing (a no-op deploy).
   */
  emptyWindowOk?: boolean;
}

export interface Assessment {
  /** Live servers (not DELETING) no instance owns. */
  orphans: number;
  /** Allocations with no live (not DELETING) server consuming them. */
  leakedAllocations: number;
  /** Volumes of the deployment no instance owns, plus an instance's volumes past its first. */
  leakedVolumes: number;
  /** Instances with more than one live server at rest, plus claims with two servers in one operation. */
  duplicates: number;
  /** Allocations released (in the window) while a server carrying them still existed. */
  twoStageViolations: number;
  /** The deployment's events in the window (all of its events when unscoped). */
  windowEvents: number;
  violations: string[];
}

export interface InvariantReport extends Assessment {
  /** Steps a fresh reconcile still wants (0 when converged). */
  remainingSteps: number;
  observed: Observed;
}

export interface InvariantInput extends InvariantWindow {
  cloud: CloudPort;
  /** When given, the deployment must be converged to this manifest. */
  desired?: { manifest: Manifest; cloudConfig: CloudConfig };
}

interface ServerView {
  tags: Tags;
  state: ServerState;
  gone: boolean;
}

interface TaggedView {
  tags: Tags;
  gone: boolean;
}

interface VolumeView extends TaggedView {
  serverId: string | null;
}

const SERVER_STATE: Record<string, ServerState> = {
  'server.created': 'BUILD',
  'server.active': 'ACTIVE',
  'server.error': 'ERROR',
  'server.deleting': 'DELETING',
  'server.started': 'ACTIVE',
  'server.stopped': 'SHUTOFF',
  'server.rebooted': 'ACTIVE',
};

/**
 * Replays the WHOLE log to know every server, allocation and volume (a server created long before
 * the window still links its allocation), judges the window's events as they pass, then judges the
 * deployment's state at the end of the log.
 */
export function assessInvariants(events: readonly RegionEvent[], window: InvariantWindow): Assessment {
  const { deployment } = window;
  const since = window.sinceSeq ?? 0;
  const violations: string[] = [];
  const servers = new Map<string, ServerView>();
  const allocations = new Map<string, TaggedView>();
  const volumes = new Map<string, VolumeView>();
  // allocation id → ids of servers carrying it now (gone ones removed), as the region's own guard sees it.
  const carriers = new Map<string, Set<string>>();
  // claim@operation → servers created for it and not yet gone.
  const perClaimOperation = new Map<string, Set<string>>();
  let claimDuplicates = 0;
  let twoStage = 0;
  let windowEvents = 0;

  const carry = (serverId: string, before: Tags | undefined, after: Tags | undefined): void => {
    const was = before?.[TAG.allocation];
    const now = after?.[TAG.allocation];
    if (was === now) return;
    if (was !== undefined) carriers.get(was)?.delete(serverId);
    if (now !== undefined) {
      const set = carriers.get(now) ?? new Set<string>();
      set.add(serverId);
      carriers.set(now, set);
    }
  };
  const claimKey = (tags: Tags): string | null => {
    const claim = tags[TAG.claim];
    return claim === undefined ? null : `${claim}@${tags[TAG.operation] ?? '?'}`;
  };

  for (const e of events) {
    const judged = e.seq > since && e.tags[TAG.deployment] === deployment;
    if (judged) windowEvents += 1;
    switch (e.type) {
      case 'server.created': {
        servers.set(e.subject, { tags: e.tags, state: 'BUILD', gone: false });
        carry(e.subject, undefined, e.tags);
        const key = claimKey(e.tags);
        if (key === null) break;
        const set = perClaimOperation.get(key) ?? new Set<string>();
        set.add(e.subject);
        perClaimOperation.set(key, set);
        if (judged && set.size > 1) {
          claimDuplicates += 1;
          violations.push(`two servers for ${key}: ${[...set].join(', ')}`);
        }
        break;
      }
      case 'server.tags': {
        const s = servers.get(e.subject);
        carry(e.subject, s?.tags, e.tags);
        if (s) s.tags = e.tags;
        break;
      }
      case 'server.deleted': {
        const s = servers.get(e.subject);
        carry(e.subject, s?.tags, undefined);
        if (s) s.gone = true;
        const key = claimKey(s?.tags ?? e.tags);
        if (key !== null) perClaimOperation.get(key)?.delete(e.subject);
        break;
      }
      case 'allocation.created':
        allocations.set(e.subject, { tags: e.tags, gone: false });
        break;
      case 'allocation.released': {
        const a = allocations.get(e.subject);
        if (a) a.gone = true;
        if (!judged) break;
        for (const serverId of carriers.get(e.subject) ?? []) {
          twoStage += 1;
          violations.push(
            `allocation ${e.subject} released while server ${serverId} existed (${servers.get(serverId)?.state ?? '?'})`,
          );
        }
        break;
      }
      case 'volume.created':
        volumes.set(e.subject, { tags: e.tags, gone: false, serverId: null });
        break;
      case 'volume.attached': {
        const v = volumes.get(e.subject);
        if (v) v.serverId = typeof e.data.server_id === 'string' ? e.data.server_id : null;
        break;
      }
      case 'volume.detached': {
        const v = volumes.get(e.subject);
        if (v) v.serverId = null;
        break;
      }
      case 'volume.deleted': {
        const v = volumes.get(e.subject);
        if (v) v.gone = true;
        break;
      }
      default: {
        const state = SERVER_STATE[e.type];
        const s = servers.get(e.subject);
        if (state !== undefined && s) s.state = state;
      }
    }
  }

  if (window.sinceSeq !== undefined && windowEvents === 0 && window.emptyWindowOk !== true) {
    violations.push(`empty window: no event of deployment ${deployment} after seq ${window.sinceSeq}`);
  }

  // At rest: every live server belongs to an instance, one per instance; every allocation and volume
  // belongs to something live. A DELETING server is on its way out: neither an owner nor a consumer.
  const ids = new Set(window.records.map((r) => r.id));
  const ours = (tags: Tags): boolean => tags[TAG.deployment] === deployment;
  const live = [...servers].filter(([, s]) => !s.gone && s.state !== 'DELETING' && ours(s.tags));

  let orphans = 0;
  const perInstance = new Map<string, string[]>();
  for (const [id, s] of live) {
    const owner = s.tags[TAG.instance];
    if (owner === undefined || !ids.has(owner)) {
      orphans += 1;
      violations.push(`orphan server ${id} (${s.tags[TAG.claim] ?? '?'}, ${s.state})`);
    } else perInstance.set(owner, [...(perInstance.get(owner) ?? []), id]);
  }
  let duplicates = claimDuplicates;
  for (const [owner, list] of perInstance) {
    if (list.length > 1) {
      duplicates += 1;
      violations.push(`instance ${owner} has ${list.length} live servers: ${list.join(', ')}`);
    }
  }

  const consumed = new Set(live.map(([, s]) => s.tags[TAG.allocation]).filter((a) => a !== undefined));
  let leakedAllocations = 0;
  for (const [id, a] of allocations) {
    if (a.gone || !ours(a.tags) || consumed.has(id)) continue;
    leakedAllocations += 1;
    violations.push(`leaked allocation ${id} (${a.tags[TAG.claim] ?? '?'})`);
  }

  let leakedVolumes = 0;
  const volumesOf = new Map<string, string[]>();
  for (const [id, v] of volumes) {
    if (v.gone || !ours(v.tags)) continue;
    const owner = v.tags[TAG.instance];
    if (owner === undefined || !ids.has(owner)) {
      leakedVolumes += 1;
      violations.push(`leaked volume ${id} (instance ${owner ?? '?'} does not exist)`);
    } else volumesOf.set(owner, [...(volumesOf.get(owner) ?? []), id]);
  }
  for (const [owner, list] of volumesOf) {
    if (list.length <= 1) continue;
    leakedVolumes += list.length - 1;
    violations.push(`instance ${owner} has ${list.length} volumes: ${list.join(', ')}`);
  }

  return {
    orphans,
    leakedAllocations,
    leakedVolumes,
    duplicates,
    twoStageViolations: twoStage,
    windowEvents,
    violations,
  };
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

/** DESIGN §9 for a deployment after an operation: the whole log judged over the window, then convergence. */
export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const { cloud, deployment, records } = input;
  const assessment = assessInvariants(await cloud.events(0), input);
  const observed = await observeDeployment(cloud, deployment);

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
      assessment.violations.push(
        `not converged: ${o.steps
          .map((s) => s.id)
          .slice(0, 5)
          .join(', ')}`,
      );
  }
  return { ...assessment, remainingSteps, observed };
}

/** The sequence number of the newest event, to scope a later check to what happens after now. */
export async function lastEventSeq(cloud: CloudPort): Promise<number> {
  const events = await cloud.events(0);
  return events[events.length - 1]?.seq ?? 0;
}
