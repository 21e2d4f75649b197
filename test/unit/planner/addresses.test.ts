// A hot_swap surge the subnet cannot hold (addresses.ts): the replacements that fit keep hot_swap,
// canaries first; the rest fall back to delete_create, and the plan says why.
import { describe, expect, it } from 'vitest';
import { dynamicAddresses } from '../../../src/planner/addresses';
import { cloudWith, deployed, instanceOf, manifestWith, plan } from './baseline';

/** The default network as one small subnet, `reserved` kept from handing out. */
const smallSubnet = (range: string, reserved: string[] = []) =>
  cloudWith((c) => {
    const net = c.networks[0];
    if (net)
      net.subnets = [{ range, gateway: range.replace(/0\/\d+$/, '1'), azs: ['z1', 'z2', 'z3'], reserved }];
  });

/** Only the api group, of `n` instances, hot_swap; `next` moves it to the next stemcell. */
const api = (n: number, next = false) =>
  manifestWith((m) => {
    m.update = { canaries: 1, max_in_flight: 2, vm_strategy: 'hot_swap', serial: true };
    const g = m.instance_groups[0];
    if (!g) throw new Error('no api group');
    g.instances = n;
    if (next) g.stemcell = 'next';
    m.instance_groups = [g];
  });

describe('dynamic addresses of a subnet', () => {
  it('a /29 with gateway .1, reserved .2-.3 and static .4: 8 − network − broadcast − gateway − 3 = 2', () => {
    const cc = cloudWith((c) => {
      const net = c.networks[0];
      if (net)
        net.subnets = [
          {
            range: '10.9.0.0/29',
            gateway: '10.9.0.1',
            azs: ['z1'],
            reserved: ['10.9.0.2-10.9.0.3'],
            static: ['10.9.0.4'],
          },
        ];
    });
    expect(dynamicAddresses(cc).get('default 10.9.0.0/29')).toBe(2);
  });

  it('overlapping reserved and static ranges count once', () => {
    const cc = cloudWith((c) => {
      const net = c.networks[0];
      if (net)
        net.subnets = [
          {
            range: '10.9.0.0/28',
            gateway: '10.9.0.1',
            azs: ['z1'],
            reserved: ['10.9.0.2-10.9.0.9'],
            static: ['10.9.0.5-10.9.0.12'],
          },
        ];
    });
    // 16 − 2 − gateway − .2-.12 (11) = 2
    expect(dynamicAddresses(cc).get('default 10.9.0.0/28')).toBe(2);
  });
});

describe('a hot_swap surge the subnet cannot hold', () => {
  it('two instances in a /29 with 3 dynamic addresses: the canary hot-swaps, the other deletes first, and says why', () => {
    const cc = smallSubnet('10.9.0.0/29', ['10.9.0.2-10.9.0.3']);
    const o = plan(deployed(api(2), cc), api(2, true), cc);
    expect(instanceOf(o, 'api/0')?.strategy).toBe('hot_swap');
    expect(instanceOf(o, 'api/1')?.strategy).toBe('delete_create');
    expect(instanceOf(o, 'api/1')?.reasons).toContain(
      'delete_create instead of hot_swap: subnet 10.9.0.0/29 (network default) has 3 dynamic addresses, ' +
        "2 held by the deployment's VMs and 1 by hot_swap replacements: no room for another VM while both live",
    );
  });

  it('room for every surge (a /29 with 5 dynamic addresses): both hot-swap', () => {
    const cc = smallSubnet('10.9.0.0/29');
    const o = plan(deployed(api(2), cc), api(2, true), cc);
    expect([instanceOf(o, 'api/0')?.strategy, instanceOf(o, 'api/1')?.strategy]).toEqual([
      'hot_swap',
      'hot_swap',
    ]);
  });

  it('a full subnet: every replacement deletes first', () => {
    const cc = smallSubnet('10.9.0.0/29', ['10.9.0.2-10.9.0.4']);
    const o = plan(deployed(api(2), cc), api(2, true), cc);
    expect([instanceOf(o, 'api/0')?.strategy, instanceOf(o, 'api/1')?.strategy]).toEqual([
      'delete_create',
      'delete_create',
    ]);
  });

  it('the baseline /24 holds every surge: nothing changes', () => {
    const o = plan(deployed(api(3)), api(3, true), cloudWith());
    expect(o.instances.map((i) => i.strategy)).toEqual(['hot_swap', 'hot_swap', 'hot_swap']);
  });
});
