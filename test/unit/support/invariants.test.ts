// The checker behind every integration and chaos verdict, held to its word: each invariant is fed a
// log that breaks it (scoped and unscoped) and must fire; the logs the region really writes must pass.
// The region itself refuses a release before the server is gone, so these logs are made by hand.
import { describe, expect, it } from 'vitest';
import type { RegionEvent } from '../../../src/cloud/port';
import { TAG, type Tags } from '../../../src/domain/cloud';
import type { InstanceRecord } from '../../../src/domain/instance';
import { assessInvariants, type InvariantWindow } from '../../support/invariants';

const D = 'web';

/** A region event log written step by step, shaped as the region writes it. */
class Log {
  readonly events: RegionEvent[] = [];
  readonly #tags = new Map<string, Tags>();

  get seq(): number {
    return this.events.length;
  }

  #push(type: string, subject: string, tags: Tags, data: Record<string, unknown> = {}): this {
    this.events.push({ seq: this.seq + 1, type, at: '2026-01-01T00:00:00.000Z', subject, tags, data });
    return this;
  }

  /** create-vm: the allocation first, then a server carrying it, tagged with its claim and operation. */
  create(server: string, claim: string, operation: string, deployment = D): this {
    const alloc = `alloc-${server}`;
    const base = { [TAG.deployment]: deployment, [TAG.claim]: claim, [TAG.operation]: operation };
    this.#tags.set(alloc, base);
    this.#push('allocation.created', alloc, base, { pool: 'p' });
    const tags = { ...base, [TAG.allocation]: alloc };
    this.#tags.set(server, tags);
    return this.#push('server.created', server, tags);
  }

  active(server: string): this {
    return this.#push('server.active', server, this.#of(server));
  }

  /** associate-vm-to-instance: the instance tag, then the instance's disk (created once, then moved). */
  associate(server: string, instance: string, volume?: string): this {
    const tags: Tags = { ...this.#of(server), [TAG.instance]: instance };
    this.#tags.set(server, tags);
    this.#push('server.tags', server, tags, { set: { [TAG.instance]: instance } });
    if (volume === undefined) return this;
    const vtags = { [TAG.deployment]: tags[TAG.deployment] ?? D, [TAG.instance]: instance };
    if (!this.#tags.has(volume)) {
      this.#tags.set(volume, vtags);
      this.#push('volume.created', volume, vtags, { pool: 'disks', size_gb: 1 });
    }
    return this.#push('volume.attached', volume, vtags, { server_id: server });
  }

  /** A VM built and associated: what a converged deployment is made of. */
  vm(server: string, claim: string, operation: string, instance: string, volume?: string): this {
    return this.create(server, claim, operation).active(server).associate(server, instance, volume);
  }

  deleting(server: string): this {
    return this.#push('server.deleting', server, this.#of(server), { from: 'ACTIVE' });
  }

  /** The region's removal: attached volumes come off in the same transaction. */
  deleted(server: string, volume?: string): this {
    if (volume !== undefined) this.#push('volume.detached', volume, this.#of(volume), { server_id: server });
    return this.#push('server.deleted', server, this.#of(server));
  }

  release(server: string): this {
    const alloc = this.#of(server)[TAG.allocation] ?? '?';
    return this.#push('allocation.released', alloc, this.#of(alloc), { pool: 'p' });
  }

  deleteVolume(volume: string): this {
    return this.#push('volume.deleted', volume, this.#of(volume), { pool: 'disks' });
  }

  /** Two-stage deprovision done right: delete, wait until gone, then release. */
  deprovision(server: string, volume?: string): this {
    return this.deleting(server).deleted(server, volume).release(server);
  }

  #of(subject: string): Tags {
    const tags = this.#tags.get(subject);
    if (!tags) throw new Error(`test log: ${subject} was never created`);
    return tags;
  }
}

function record(id: string, index: number): InstanceRecord {
  return { id, group: 'web', index, az: 'z1', bootstrap: index === 0, state: 'started' };
}
const I0 = record('i0', 0);
const I1 = record('i1', 1);

/** Two instances with disks, built by operation op-1: where every later window starts. */
function converged(): Log {
  return new Log().vm('s0', 'web/0', 'op-1', 'i0', 'v0').vm('s1', 'web/1', 'op-1', 'i1', 'v1');
}

function judge(log: Log, window: Omit<InvariantWindow, 'deployment'>) {
  return assessInvariants(log.events, { deployment: D, ...window });
}

/** Each case runs unscoped and scoped to the operation under test (`since` = the log before it). */
const SCOPES = [
  { name: 'unscoped', scope: (_since: number) => ({}) },
  { name: 'scoped', scope: (since: number) => ({ sinceSeq: since }) },
] as const;

describe('assessInvariants: logs the region really writes pass', () => {
  it.each(SCOPES)('a fresh deploy ($name)', ({ scope }) => {
    const log = converged();
    const a = judge(log, { records: [I0, I1], ...scope(0) });
    expect(a.violations).toEqual([]);
    expect(a.windowEvents).toBe(log.seq);
  });

  it.each(SCOPES)('a delete_create of servers made before the window ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s0', 'v0').vm('s2', 'web/0', 'op-2', 'i0', 'v0');
    log.deprovision('s1', 'v1').vm('s3', 'web/1', 'op-2', 'i1', 'v1');
    expect(judge(log, { records: [I0, I1], ...scope(since) }).violations).toEqual([]);
  });

  it.each(SCOPES)('a hot_swap: new VM first, then the old one two-stage ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.create('s2', 'web/0', 'op-2').active('s2');
    log.deleting('s0').deleted('s0', 'v0').release('s0').associate('s2', 'i0', 'v0');
    expect(judge(log, { records: [I0, I1], ...scope(since) }).violations).toEqual([]);
  });

  it.each(SCOPES)('a deployment deleted: VMs, allocations and disks all gone ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s0', 'v0').deleteVolume('v0').deprovision('s1', 'v1').deleteVolume('v1');
    expect(judge(log, { records: [], ...scope(since) }).violations).toEqual([]);
  });

  it('another deployment in the same region is not judged', () => {
    const log = converged();
    const since = log.seq;
    log.create('x0', 'web/0', 'op-9', 'other').deprovision('s0', 'v0').vm('s2', 'web/0', 'op-2', 'i0', 'v0');
    const a = judge(log, { records: [I0, I1], sinceSeq: since });
    expect(a.violations).toEqual([]);
  });
});

describe('assessInvariants: each violation fires', () => {
  it.each(SCOPES)('two-stage: an allocation released while its server is DELETING ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deleting('s0').release('s0').deleted('s0', 'v0').vm('s2', 'web/0', 'op-2', 'i0', 'v0');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.twoStageViolations).toBe(1);
    expect(a.violations).toEqual(['allocation alloc-s0 released while server s0 existed (DELETING)']);
  });

  it.each(SCOPES)('two-stage: an allocation released under a live server ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.release('s1');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.twoStageViolations).toBe(1);
    expect(a.violations).toContain('allocation alloc-s1 released while server s1 existed (ACTIVE)');
  });

  it.each(SCOPES)('two servers for one claim in one operation ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s0', 'v0').create('s2', 'web/0', 'op-2').create('s3', 'web/0', 'op-2');
    log.active('s2').associate('s2', 'i0', 'v0').deprovision('s3');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.duplicates).toBe(1);
    expect(a.violations).toEqual(['two servers for web/0@op-2: s2, s3']);
  });

  it.each(SCOPES)('an instance with two live servers at rest ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.vm('s2', 'web/0', 'op-2', 'i0');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.duplicates).toBe(1);
    expect(a.violations).toEqual(['instance i0 has 2 live servers: s0, s2']);
  });

  it.each(SCOPES)('an allocation with no server: created, never used ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.create('s2', 'web/2', 'op-2').deprovision('s2');
    log.events.splice(log.events.length - 1, 1); // the release never came
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.leakedAllocations).toBe(1);
    expect(a.violations).toEqual(['leaked allocation alloc-s2 (web/2)']);
  });

  it.each(SCOPES)('an allocation held only by a DELETING server is leaked ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deleting('s1');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    // DELETING is on its way out: no orphan, but not a consumer either.
    expect(a.orphans).toBe(0);
    expect(a.leakedAllocations).toBe(1);
    expect(a.violations).toEqual(['leaked allocation alloc-s1 (web/1)']);
  });

  it.each(SCOPES)('an orphan: a live server no instance owns ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.create('s2', 'web/2', 'op-2').active('s2');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.orphans).toBe(1);
    expect(a.violations).toEqual(['orphan server s2 (web/2, ACTIVE)']);
  });

  it.each(SCOPES)('an orphan: the VM of an instance that was deleted ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s0', 'v0').deleteVolume('v0').active('s1'); // i1's record is gone, its VM stays
    const a = judge(log, { records: [I0], ...scope(since) });
    expect(a.orphans).toBe(1);
    expect(a.violations).toContain('orphan server s1 (web/1, ACTIVE)');
  });

  it.each(SCOPES)('a leaked disk: the volume of a deleted instance ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s1', 'v1'); // the disk is never deleted
    const a = judge(log, { records: [I0], ...scope(since) });
    expect(a.leakedVolumes).toBe(1);
    expect(a.violations).toEqual(['leaked volume v1 (instance i1 does not exist)']);
  });

  it.each(SCOPES)('a leaked disk: a second volume made for one instance ($name)', ({ scope }) => {
    const log = converged();
    const since = log.seq;
    log.deprovision('s0', 'v0').vm('s2', 'web/0', 'op-2', 'i0', 'v9');
    const a = judge(log, { records: [I0, I1], ...scope(since) });
    expect(a.leakedVolumes).toBe(1);
    expect(a.violations).toEqual(['instance i0 has 2 volumes: v0, v9']);
  });
});

describe('assessInvariants: the window', () => {
  it('a scoped window with no event of the deployment fails', () => {
    const log = converged();
    const since = log.seq;
    log.create('x0', 'web/0', 'op-9', 'other');
    const a = judge(log, { records: [I0, I1], sinceSeq: since });
    expect(a.windowEvents).toBe(0);
    expect(a.violations).toEqual([`empty window: no event of deployment web after seq ${since}`]);
  });

  it('an empty window passes only when the caller says nothing was to happen', () => {
    const log = converged();
    const a = judge(log, { records: [I0, I1], sinceSeq: log.seq, emptyWindowOk: true });
    expect(a.violations).toEqual([]);
  });

  it('a violation before the window is not the window operation`s fault', () => {
    const log = converged();
    log.deleting('s1').release('s1').deleted('s1', 'v1').vm('s2', 'web/1', 'op-1', 'i1', 'v1');
    const since = log.seq;
    log.deprovision('s0', 'v0').vm('s3', 'web/0', 'op-2', 'i0', 'v0');
    expect(judge(log, { records: [I0, I1], sinceSeq: since }).violations).toEqual([]);
    expect(judge(log, { records: [I0, I1] }).twoStageViolations).toBe(1);
  });
});

/**
 * The windows the integration and chaos tests really check, each with one release moved before its
 * server is gone. The old servers were all created before the window: a checker that links an
 * allocation to its server only through creations inside the window sees nothing here.
 */
describe('assessInvariants: release-before-gone in the real windows', () => {
  const windows: { name: string; records: InstanceRecord[]; operate: (log: Log) => void }[] = [
    {
      name: 'lifecycle: stop --hard deletes every VM two-stage',
      records: [
        { ...I0, state: 'detached' },
        { ...I1, state: 'detached' },
      ],
      operate: (log) => log.deprovision('s0', 'v0').deprovision('s1', 'v1'),
    },
    {
      name: 'lifecycle: delete removes VMs, allocations and disks',
      records: [],
      operate: (log) =>
        log.deprovision('s0', 'v0').deleteVolume('v0').deprovision('s1', 'v1').deleteVolume('v1'),
    },
    {
      name: 'deploy: a delete_create rollout',
      records: [I0, I1],
      operate: (log) =>
        log
          .deprovision('s0', 'v0')
          .vm('s2', 'web/0', 'op-2', 'i0', 'v0')
          .deprovision('s1', 'v1')
          .vm('s3', 'web/1', 'op-2', 'i1', 'v1'),
    },
    {
      name: 'chaos: a hot_swap step',
      records: [I0, I1],
      operate: (log) =>
        log
          .create('s2', 'web/0', 'op-2')
          .active('s2')
          .deprovision('s0', 'v0')
          .associate('s2', 'i0', 'v0')
          .create('s3', 'web/1', 'op-2')
          .active('s3')
          .deprovision('s1', 'v1')
          .associate('s3', 'i1', 'v1'),
    },
  ];

  it.each(windows)('$name: clean as the region writes it', ({ records, operate }) => {
    const log = converged();
    const since = log.seq;
    operate(log);
    expect(judge(log, { records, sinceSeq: since }).violations).toEqual([]);
  });

  it.each(windows)('$name: caught with a release moved before server.deleted', ({ records, operate }) => {
    const log = converged();
    const since = log.seq;
    operate(log);
    // Move the first release in the window to just before its server's deletion ends.
    const at = log.events.findIndex((e) => e.seq > since && e.type === 'allocation.released');
    const [release] = log.events.splice(at, 1);
    if (!release) throw new Error('the window has no release');
    const gone = log.events.findIndex((e) => e.seq > since && e.type === 'server.deleted');
    log.events.splice(gone, 0, release);
    log.events.forEach((e, i) => (e.seq = i + 1));
    const a = judge(log, { records, sinceSeq: since });
    expect(a.twoStageViolations).toBe(1);
    expect(a.violations).toEqual([
      `allocation ${release.subject} released while server s0 existed (DELETING)`,
    ]);
  });
});
