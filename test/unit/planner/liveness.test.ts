// Plans that cannot deadlock (liveness.ts): a new VM's static IP held by another server of the
// deployment is fine when the rollout frees it without waiting for that VM, and refused otherwise.
import { describe, expect, it } from 'vitest';
import type { ManifestInput } from '../../../src/domain/manifest';
import type { Obligation } from '../../../src/planner/types';
import { cloudWith, deployed, instanceOf, manifestWith, plan, recordOf } from './baseline';

type Groups = ManifestInput['instance_groups'];

/** Groups `a` and `b` of one instance each (or as given), with static IPs on the default network. */
function twoGroups(
  ips: { a: string[]; b: string[] },
  edit: (groups: Groups) => void = () => {},
  update: ManifestInput['update'] = { canaries: 1, max_in_flight: 1, serial: true },
) {
  return manifestWith((m) => {
    m.update = update;
    const g = (name: string, staticIps: string[]): Groups[number] => ({
      name,
      instances: staticIps.length,
      azs: ['z1'],
      vm_type: 'small',
      stemcell: 'default',
      networks: [{ name: 'default', static_ips: staticIps }],
      env: {},
    });
    m.instance_groups = [g('a', ips.a), g('b', ips.b)];
    edit(m.instance_groups);
  });
}

const cc = cloudWith();
const messages = (o: Obligation): string[] => o.refusals.map((r) => r.message);

describe('a static IP held by another instance of the deployment', () => {
  const before = { a: ['10.0.0.20'], b: ['10.0.0.21'] };
  const swapped = { a: ['10.0.0.21'], b: ['10.0.0.20'] };

  it('two serial groups swapping their IPs: refused, naming the IP and the instance holding it', () => {
    const world = deployed(twoGroups(before), cc);
    const o = plan(world, twoGroups(swapped), cc);
    const b = recordOf(world, 'b/0');
    const a = instanceOf(o, 'a/0')?.instance ?? '?';
    expect(o.refusals).toEqual([
      expect.objectContaining({
        ip: '10.0.0.21',
        network: 'default',
        instance: a,
        claim: 'a/0',
        holder: `b/${b.id}`,
        holderClaim: 'b/0',
        why: 'after',
      }),
    ]);
    expect(messages(o)).toEqual([
      `Failed to reserve IP 10.0.0.21 (network default) for instance ${a} (a/0): already reserved by ` +
        `instance b/${b.id} (b/0, server ${o.refusals[0]?.server ?? '?'}) of deployment web, which frees it ` +
        `only after ${a} is updated, so the deploy would wait forever. Move one of them to a free address ` +
        `first, in a deploy of its own`,
    ]);
  });

  it('the same swap between two groups updated together (b not serial): both deletes go first, accepted', () => {
    const notSerial = (groups: Groups) => {
      const b = groups[1];
      if (b) b.update = { serial: false };
    };
    const world = deployed(twoGroups(before, notSerial), cc);
    expect(plan(world, twoGroups(swapped, notSerial), cc).refusals).toEqual([]);
  });

  it('a swap inside one group, the canary waiting for a later instance: refused', () => {
    const world = deployed(twoGroups({ a: ['10.0.0.20', '10.0.0.21'], b: ['10.0.0.22'] }), cc);
    const o = plan(world, twoGroups({ a: ['10.0.0.21', '10.0.0.20'], b: ['10.0.0.22'] }), cc);
    expect(o.refusals.map((r) => [r.claim, r.ip, r.holderClaim, r.why])).toEqual([
      ['a/0', '10.0.0.21', 'a/1', 'after'],
    ]);
  });

  it('a swap inside one group with no canaries and room for both: accepted', () => {
    const update = { canaries: 0, max_in_flight: 2, serial: true };
    const world = deployed(
      twoGroups({ a: ['10.0.0.20', '10.0.0.21'], b: ['10.0.0.22'] }, () => {}, update),
      cc,
    );
    const o = plan(
      world,
      twoGroups({ a: ['10.0.0.21', '10.0.0.20'], b: ['10.0.0.22'] }, () => {}, update),
      cc,
    );
    expect(o.refusals).toEqual([]);
  });

  it('an IP freed by an earlier serial group (a gives up .20, b then takes it): accepted', () => {
    const world = deployed(twoGroups({ a: ['10.0.0.20'], b: ['10.0.0.21'] }), cc);
    const o = plan(world, twoGroups({ a: ['10.0.0.22'], b: ['10.0.0.20'] }), cc);
    expect(o.refusals).toEqual([]);
  });

  it('an IP freed only by a later group scaling down: refused', () => {
    const world = deployed(twoGroups({ a: ['10.0.0.20'], b: ['10.0.0.21', '10.0.0.22'] }), cc);
    const o = plan(world, twoGroups({ a: ['10.0.0.22'], b: ['10.0.0.21'] }), cc);
    expect(o.refusals.map((r) => [r.claim, r.ip, r.holderClaim, r.why])).toEqual([
      ['a/0', '10.0.0.22', 'b/1', 'after'],
    ]);
  });

  it('an IP freed by a removed group (cleanup runs at once): accepted', () => {
    const world = deployed(twoGroups({ a: ['10.0.0.20'], b: ['10.0.0.21'] }), cc);
    const onlyA = manifestWith((m) => {
      m.update = { canaries: 1, max_in_flight: 1, serial: true };
      m.instance_groups = [
        {
          name: 'a',
          instances: 1,
          azs: ['z1'],
          vm_type: 'small',
          stemcell: 'default',
          networks: [{ name: 'default', static_ips: ['10.0.0.21'] }],
          env: {},
        },
      ];
    });
    expect(plan(world, onlyA, cc).refusals).toEqual([]);
  });

  it('an IP held by a stopped instance, which keeps its VM: refused as kept', () => {
    const world = deployed(twoGroups({ a: ['10.0.0.20'], b: ['10.0.0.21'] }), cc);
    const b = recordOf(world, 'b/0');
    const stopped = {
      ...world,
      records: world.records.map((r) => (r.id === b.id ? { ...r, state: 'stopped' as const } : r)),
    };
    const o = plan(stopped, twoGroups({ a: ['10.0.0.21'], b: ['10.0.0.20'] }), cc);
    expect(o.refusals.map((r) => [r.claim, r.ip, r.holder, r.why])).toEqual([
      ['a/0', '10.0.0.21', `b/${b.id}`, 'kept'],
    ]);
    expect(o.refusals[0]?.message).toContain('which keeps it');
  });

  it('an instance changing its own static IP (its own VM goes first): accepted, as every ordinary plan', () => {
    const world = deployed();
    const o = plan(
      world,
      manifestWith((m) => {
        const db = m.instance_groups[2];
        if (db) db.networks = [{ name: 'default', static_ips: ['10.0.0.11'] }];
      }),
      cc,
    );
    expect(instanceOf(o, 'db/0')?.action).toBe('replace');
    expect(o.refusals).toEqual([]);
  });

  it('the same inputs give the same refusals, whatever order the cloud listed its servers in', () => {
    const world = deployed(twoGroups(before), cc);
    const reversed = {
      ...world,
      observed: { ...world.observed, servers: [...world.observed.servers].reverse() },
    };
    expect(plan(reversed, twoGroups(swapped), cc).refusals).toEqual(
      plan(world, twoGroups(swapped), cc).refusals,
    );
  });
});
