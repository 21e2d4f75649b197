// Cloud check: each case breaks one thing in the converged baseline, asserts the exact problem and
// its resolutions, applies every resolution that fits in the simulator, and checks again.
import { describe, expect, it } from 'vitest';
import { TAG, type Server } from '../../../src/domain/cloud';
import {
  cloudCheck,
  embodiment,
  patent,
  placementsFor,
  planResolution,
  type Problem,
  type Resolution,
} from '../../../src/planner/index';
import { enact, type World } from '../../support/simulator';
import { cloudWith, deployed, manifestWith, options, recordOf, serverOf } from './baseline';

const m = manifestWith();
const cc = cloudWith();
const check = (w: World): Problem[] => cloudCheck(embodiment('web', w.observed, w.records));
const nameOf = (w: World, claim: string): string => {
  const r = recordOf(w, claim);
  return `${r.group}/${r.id}`;
};

function applied(w: World, resolution: Resolution | null) {
  return planResolution({
    patent: patent(m, cc, placementsFor(m, w.records)),
    observed: w.observed,
    records: w.records,
    resolution,
    options: options({ operationSeq: 7, operationId: 'op-7' }),
  });
}

/** Applies `resolution` in the simulator and returns the world after it. */
function fix(w: World, resolution: Resolution): World {
  const { resolved } = applied(w, resolution);
  return enact(w.observed, resolved.obligation);
}

function withOrphan(w: World, id = 's-orphan'): Server {
  const base = structuredClone(w.observed.servers[0] as Server);
  const orphan: Server = { ...base, id, name: 'by-hand', tags: { [TAG.deployment]: 'web' } };
  w.observed.servers.push(orphan);
  return orphan;
}

describe('cloudCheck: one problem per broken thing', () => {
  it('finds nothing in a converged deployment', () => {
    expect(check(deployed())).toEqual([]);
  });

  const cases: Array<{
    name: string;
    breakIt: (w: World) => void;
    expected: (w: World) => Partial<Problem>[];
  }> = [
    {
      name: 'a VM deleted out of band is a missing VM',
      breakIt: (w) => {
        const s = serverOf(w.observed, recordOf(w, 'api/0').id);
        w.observed.servers = w.observed.servers.filter((x) => x.id !== s.id);
      },
      expected: (w) => [
        {
          id: `missing-vm:${recordOf(w, 'api/0').id}`,
          kind: 'missing-vm',
          instance: nameOf(w, 'api/0'),
          description: `instance ${nameOf(w, 'api/0')} (api/0) has no VM in the cloud`,
          resolutions: ['recreate-vm', 'delete-vm-reference', 'ignore'],
        },
        // Its allocation is no longer consumed by any server.
        { kind: 'orphan-allocation', resolutions: ['delete-orphan', 'ignore'] },
      ],
    },
    {
      name: 'a VM in ERROR',
      breakIt: (w) => {
        serverOf(w.observed, recordOf(w, 'api/1').id).state = 'ERROR';
      },
      expected: (w) => {
        const s = serverOf(w.observed, recordOf(w, 'api/1').id);
        return [
          {
            id: `vm-error:${s.id}`,
            kind: 'vm-error',
            object: s.id,
            description: `VM ${s.id} (${s.name}) of instance ${nameOf(w, 'api/1')} is in ERROR`,
            resolutions: ['recreate-vm', 'delete-vm-reference', 'ignore'],
          },
        ];
      },
    },
    {
      name: 'a stopped instance without its VM cannot be recreated here (start does it)',
      breakIt: (w) => {
        const r = recordOf(w, 'api/2');
        r.state = 'stopped';
        const s = serverOf(w.observed, r.id);
        w.observed.servers = w.observed.servers.filter((x) => x.id !== s.id);
        w.observed.allocations = w.observed.allocations.filter((a) => a.id !== s.tags[TAG.allocation]);
      },
      expected: (w) => [
        { kind: 'missing-vm', instance: nameOf(w, 'api/2'), resolutions: ['delete-vm-reference', 'ignore'] },
      ],
    },
    {
      name: 'a disk detached out of band',
      breakIt: (w) => {
        const v = w.observed.volumes.find((x) => x.tags[TAG.instance] === recordOf(w, 'worker/0').id);
        if (v) v.server_id = null;
      },
      expected: (w) => {
        const r = recordOf(w, 'worker/0');
        const v = w.observed.volumes.find((x) => x.tags[TAG.instance] === r.id);
        const s = serverOf(w.observed, r.id);
        return [
          {
            id: `unattached-disk:${v?.id ?? ''}`,
            kind: 'unattached-disk',
            description: `disk ${v?.id ?? ''} of instance ${nameOf(w, 'worker/0')} is not attached to its VM ${s.id} (it is free)`,
            resolutions: ['reattach-disk', 'ignore'],
          },
        ];
      },
    },
    {
      name: 'a server tagged for the deployment that no instance owns',
      breakIt: (w) => {
        withOrphan(w);
      },
      expected: () => [
        {
          id: 'orphan-server:s-orphan',
          kind: 'orphan-server',
          instance: null,
          description:
            'server s-orphan (by-hand) (ACTIVE) is tagged for deployment web but no instance owns it',
          resolutions: ['delete-orphan', 'ignore'],
        },
      ],
    },
    {
      name: 'a volume whose instance is gone',
      breakIt: (w) => {
        w.observed.volumes.push({
          id: 'v-stray',
          pool: 'sim',
          size_gb: 3,
          server_id: null,
          tags: { [TAG.deployment]: 'web', [TAG.instance]: 'gone' },
        });
      },
      expected: () => [
        {
          id: 'orphan-volume:v-stray',
          description:
            'volume v-stray (3 GB) is tagged for deployment web but its instance gone does not exist',
        },
      ],
    },
    {
      name: 'two servers for one instance',
      breakIt: (w) => {
        const s = serverOf(w.observed, recordOf(w, 'api/0').id);
        w.observed.servers.push({ ...structuredClone(s), id: 's-twin', state: 'ERROR' });
      },
      expected: (w) => {
        const s = serverOf(w.observed, recordOf(w, 'api/0').id);
        return [
          {
            id: 'duplicate-server:s-twin',
            kind: 'duplicate-server',
            description: `two servers for instance ${nameOf(w, 'api/0')} of web: s-twin (${s.name}) duplicates ${s.id} (kept ${s.id}: ACTIVE over ERROR)`,
            resolutions: ['delete-orphan', 'ignore'],
          },
        ];
      },
    },
  ];

  it.each(cases)('$name', ({ breakIt, expected }) => {
    const w = deployed();
    breakIt(w);
    const found = check(w);
    const want = expected(w);
    expect(found).toHaveLength(want.length);
    want.forEach((p, i) => expect(found[i]).toMatchObject(p));
  });

  it('is the same whatever order the cloud listed things in', () => {
    const w = deployed();
    withOrphan(w);
    serverOf(w.observed, recordOf(w, 'api/1').id).state = 'ERROR';
    const reversed: World = {
      records: [...w.records].reverse(),
      observed: {
        servers: [...w.observed.servers].reverse(),
        allocations: [...w.observed.allocations].reverse(),
        volumes: [...w.observed.volumes].reverse(),
      },
    };
    expect(check(reversed)).toEqual(check(w));
  });

  it('does not count a hard-stopped instance without a VM, nor a server being deleted', () => {
    const w = deployed();
    const r = recordOf(w, 'api/0');
    r.state = 'detached';
    const s = serverOf(w.observed, r.id);
    w.observed.servers = w.observed.servers.filter((x) => x.id !== s.id);
    w.observed.allocations = w.observed.allocations.filter((a) => a.id !== s.tags[TAG.allocation]);
    withOrphan(w).state = 'DELETING';
    expect(check(w).map((p) => p.id)).toEqual([]);
  });
});

describe('resolutions: ordinary steps, restricted to the problems they fit', () => {
  it('delete-orphan deletes the orphan two-stage and nothing else, then the check is clean', () => {
    const w = deployed();
    const orphan = withOrphan(w);
    // Drift the rest: a deploy would replace api/1, a resolution must not.
    serverOf(w.observed, recordOf(w, 'api/1').id).tags[TAG.fingerprint] = 'old';
    const { resolved } = applied(w, 'delete-orphan');
    expect(resolved.applied.map((p) => p.id)).toEqual(['orphan-server:s-orphan']);
    expect(resolved.obligation.steps.map((s) => s.id)).toEqual(
      [
        `orphan/s-orphan:delete-server:s-orphan`,
        `orphan/s-orphan:release-quota:${orphan.tags[TAG.allocation] ?? ''}`,
      ].slice(0, orphan.tags[TAG.allocation] === undefined ? 1 : 2),
    );
    expect(resolved.obligation.records).toEqual(w.records);
    expect(check(fix(w, 'delete-orphan'))).toEqual([]);
  });

  it('delete-orphan releases a stray allocation and deletes a stray volume and a duplicate', () => {
    const w = deployed();
    const s = serverOf(w.observed, recordOf(w, 'api/0').id);
    w.observed.servers.push({ ...structuredClone(s), id: 's-twin', state: 'ERROR' });
    w.observed.volumes.push({
      id: 'v-stray',
      pool: 'sim',
      size_gb: 3,
      server_id: null,
      tags: { [TAG.deployment]: 'web', [TAG.instance]: 'gone' },
    });
    w.observed.allocations.push({ ...structuredClone(w.observed.allocations[0]!), id: 'a-stray' });
    const { resolved } = applied(w, 'delete-orphan');
    expect(resolved.obligation.steps.map((x) => x.kind).sort()).toEqual([
      'delete-disk',
      'delete-server',
      'release-quota',
    ]);
    const after = fix(w, 'delete-orphan');
    expect(check(after)).toEqual([]);
    // The instance's own VM stayed.
    expect(serverOf(after.observed, recordOf(w, 'api/0').id).id).toBe(s.id);
  });

  it('recreate-vm creates a missing VM for its instance (same uuid)', () => {
    const w = deployed();
    const r = recordOf(w, 'api/0');
    const s = serverOf(w.observed, r.id);
    w.observed.servers = w.observed.servers.filter((x) => x.id !== s.id);
    w.observed.allocations = w.observed.allocations.filter((a) => a.id !== s.tags[TAG.allocation]);
    const { resolved } = applied(w, 'recreate-vm');
    expect(resolved.obligation.steps.map((x) => x.kind)).toEqual(['create-vm', 'associate-vm-to-instance']);
    expect(resolved.obligation.instances.map((i) => [i.instance, i.action, i.reasons])).toEqual([
      [`api/${r.id}`, 'replace', ['missing VM']],
    ]);
    const after = fix(w, 'recreate-vm');
    expect(check(after)).toEqual([]);
    expect(serverOf(after.observed, r.id)).toBeDefined();
  });

  it('recreate-vm replaces a VM in ERROR', () => {
    const w = deployed();
    serverOf(w.observed, recordOf(w, 'api/1').id).state = 'ERROR';
    const { resolved } = applied(w, 'recreate-vm');
    expect(resolved.obligation.instances[0]?.reasons).toContain('failed server');
    expect(check(fix(w, 'recreate-vm'))).toEqual([]);
  });

  it('delete-vm-reference detaches the instance: its ERROR VM is deleted two-stage, uuid and disk kept', () => {
    const w = deployed();
    const r = recordOf(w, 'api/1');
    serverOf(w.observed, r.id).state = 'ERROR';
    const { resolved } = applied(w, 'delete-vm-reference');
    expect(resolved.obligation.steps.map((x) => x.kind)).toEqual(['delete-server', 'release-quota']);
    expect(resolved.obligation.records.find((x) => x.id === r.id)?.state).toBe('detached');
    const after = fix(w, 'delete-vm-reference');
    expect(check(after)).toEqual([]);
  });

  it('delete-vm-reference on a missing VM changes only the record', () => {
    const w = deployed();
    const r = recordOf(w, 'api/0');
    const s = serverOf(w.observed, r.id);
    w.observed.servers = w.observed.servers.filter((x) => x.id !== s.id);
    w.observed.allocations = w.observed.allocations.filter((a) => a.id !== s.tags[TAG.allocation]);
    const { resolved } = applied(w, 'delete-vm-reference');
    expect(resolved.obligation.steps).toEqual([]);
    expect(resolved.obligation.records.find((x) => x.id === r.id)?.state).toBe('detached');
  });

  it('reattach-disk associates the instance VM again, detaching the disk from elsewhere first', () => {
    const w = deployed();
    const r = recordOf(w, 'worker/0');
    const s = serverOf(w.observed, r.id);
    const v = w.observed.volumes.find((x) => x.tags[TAG.instance] === r.id);
    if (!v) throw new Error('baseline: worker/0 has a disk');
    v.server_id = null;
    const free = applied(w, 'reattach-disk').resolved.obligation.steps;
    expect(free.map((x) => [x.id, x.summary])).toEqual([
      [
        `worker/${r.id}:associate-vm-to-instance`,
        `associate-vm-to-instance ${s.id} → worker/${r.id} (reattaches its disk)`,
      ],
    ]);
    const after = fix(w, 'reattach-disk');
    expect(after.observed.volumes.find((x) => x.id === v.id)?.server_id).toBe(s.id);
    expect(check(after)).toEqual([]);

    const other = deployed();
    const r2 = recordOf(other, 'worker/0');
    const v2 = other.observed.volumes.find((x) => x.tags[TAG.instance] === r2.id);
    if (!v2) throw new Error('baseline: worker/0 has a disk');
    v2.server_id = serverOf(other.observed, recordOf(other, 'worker/1').id).id;
    expect(applied(other, 'reattach-disk').resolved.obligation.steps.map((x) => x.kind)).toEqual([
      'detach-disk',
      'associate-vm-to-instance',
    ]);
  });

  it('ignore and a report plan nothing', () => {
    const w = deployed();
    withOrphan(w);
    for (const res of ['ignore', null] as const) {
      const { problems, resolved } = applied(w, res);
      expect(problems).toHaveLength(1);
      expect(resolved.obligation.steps).toEqual([]);
      expect(resolved.applied).toEqual([]);
    }
  });

  it('a resolution that fits no problem does nothing', () => {
    const w = deployed();
    withOrphan(w);
    const { resolved } = applied(w, 'reattach-disk');
    expect([resolved.applied, resolved.obligation.steps]).toEqual([[], []]);
  });
});
