// A static IP held outside the deployment (held.ts): a new VM whose address a server of another
// deployment (or of none) holds is refused, naming the IP, the instance and the holder; holders of
// the deployment itself, addresses nobody needs and VMs that are not created are not.
import { describe, expect, it } from 'vitest';
import { TAG, type AddressHolder } from '../../../src/domain/cloud';
import type { ManifestInput } from '../../../src/domain/manifest';
import { heldOutside, staticIpsOf } from '../../../src/planner/held';
import { cloudWith, deployed, instanceOf, manifestWith, plan } from './baseline';

/** Group `db` of one instance per static IP, and `web` with none. */
function withDb(ips: string[]) {
  return manifestWith((m) => {
    const g = (name: string, staticIps: string[] | null, instances: number) => ({
      name,
      instances,
      azs: ['z1'],
      vm_type: 'small',
      stemcell: 'default',
      networks: [staticIps ? { name: 'default', static_ips: staticIps } : { name: 'default' }],
      env: {},
    });
    const groups: ManifestInput['instance_groups'] = [g('web', null, 1), g('db', ips, ips.length)];
    m.instance_groups = groups;
  });
}

const cc = cloudWith();
const empty = { observed: { servers: [], allocations: [], volumes: [] }, records: [] };
const holder = (ip: string, tags: Record<string, string>, extra: Partial<AddressHolder> = {}) => ({
  ip,
  kind: 'server' as const,
  holder: 's-9',
  name: 'squatter',
  tags,
  ...extra,
});

describe('heldOutside', () => {
  const m = withDb(['10.0.0.25', '10.0.0.26']);
  const o = plan(empty, m, cc);
  const db0 = instanceOf(o, 'db/0')?.instance ?? '?';

  it.each([
    [
      'a server of another deployment',
      holder('10.0.0.25', { [TAG.deployment]: 'other' }),
      'server s-9 (squatter) of deployment other',
    ],
    [
      'an instance of another deployment, named by its group and uuid',
      holder('10.0.0.25', { [TAG.deployment]: 'other', [TAG.group]: 'api', [TAG.instance]: 'u7' }),
      'instance api/u7 (server s-9, squatter) of deployment other',
    ],
    [
      'a server no deployment claims',
      holder('10.0.0.25', {}),
      'server s-9 (squatter), which no deployment claims',
    ],
    [
      'a network interface attached to no instance (EC2)',
      holder('10.0.0.25', {}, { kind: 'interface', holder: 'eni-1', name: '' }),
      'network interface eni-1, which no deployment claims',
    ],
  ])('%s: refused, naming the IP, the instance and the holder', (_what, h, who) => {
    expect(heldOutside('web', o.steps, [h])).toEqual([
      {
        ip: '10.0.0.25',
        network: 'default',
        instance: db0,
        claim: 'db/0',
        holder: h,
        message:
          `Failed to reserve IP 10.0.0.25 (network default) for instance ${db0} (db/0): already reserved by ` +
          `${who}, outside deployment web. Free it there, or give db/0 another static IP`,
      },
    ]);
  });

  it('both addresses held: one refusal each, in step order', () => {
    const found = heldOutside('web', o.steps, [
      holder('10.0.0.26', { [TAG.deployment]: 'other' }),
      holder('10.0.0.25', { [TAG.deployment]: 'other' }),
    ]);
    const creates = o.steps.flatMap((s) => (s.kind === 'create-vm' && s.spec.static_ip ? [s] : []));
    expect(creates).toHaveLength(2);
    expect(found.map((f) => [f.claim, f.ip])).toEqual(creates.map((s) => [s.claim, s.spec.static_ip]));
  });

  it('a holder of the deployment itself is not refused here (liveness.ts orders or refuses it)', () => {
    expect(heldOutside('web', o.steps, [holder('10.0.0.25', { [TAG.deployment]: 'web' })])).toEqual([]);
  });

  it('an address held outside that no new VM needs: nothing', () => {
    expect(heldOutside('web', o.steps, [holder('10.0.0.99', { [TAG.deployment]: 'other' })])).toEqual([]);
  });

  it('a redeploy that creates no VM (the instance holds its own address): nothing', () => {
    const world = deployed(m, cc);
    const again = plan(world, m, cc, { operationSeq: 2 });
    expect(again.steps.filter((s) => s.kind === 'create-vm')).toEqual([]);
    const own = world.observed.servers.find((s) => s.addresses.some((a) => a.ip === '10.0.0.25'));
    expect(own).toBeDefined();
    // Even a holder answer that forgot its tags is harmless when nothing is created.
    expect(heldOutside('web', again.steps, [holder('10.0.0.25', {})])).toEqual([]);
  });
});

describe('staticIpsOf', () => {
  it('every static IP of every group, once, in manifest order', () => {
    const m = withDb(['10.0.0.26', '10.0.0.25']);
    const g = m.instance_groups[0];
    if (g) g.networks = [{ name: 'default', static_ips: ['10.0.0.30', '10.0.0.25'] }];
    expect(staticIpsOf(m)).toEqual(['10.0.0.30', '10.0.0.25', '10.0.0.26']);
    expect(staticIpsOf(withDb([]))).toEqual([]);
  });
});
