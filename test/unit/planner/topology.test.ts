// The cloud config against the cloud's topology (planner/topology.ts): each case changes one thing of a
// cloud config the example region honours, and names the field and what the cloud has.
import { describe, expect, it } from 'vitest';
import type { CloudTopology } from '../../../src/domain/cloud';
import type { CloudConfig } from '../../../src/domain/cloud-config';
import { topologyContradictions } from '../../../src/planner/topology';
import { cloudConfig, smallManifest } from '../../support/fixtures';

/** As examples/region.yml serves it. */
const region: CloudTopology = {
  azs: ['z1', 'z2', 'z3'],
  networks: [
    { name: 'default', subnets: [{ range: '10.0.0.0/16', static: ['10.0.0.10-10.0.0.30'], azs: null }] },
  ],
};
const manifest = smallManifest('topo');

function changed(change: (cc: CloudConfig) => void): CloudConfig {
  const cc = cloudConfig();
  change(cc);
  return cc;
}
function subnet(cc: CloudConfig) {
  const s = cc.networks[0]?.subnets[0];
  if (!s) throw new Error('no subnet');
  return s;
}

describe('topologyContradictions', () => {
  it('the example cloud config on the example region: nothing', () => {
    expect(topologyContradictions(manifest, cloudConfig(), region)).toEqual([]);
  });

  it.each([
    [
      'a subnet the cloud does not have',
      (cc: CloudConfig) => {
        subnet(cc).range = '10.20.0.0/24';
        subnet(cc).static = ['10.20.0.10-10.20.0.40'];
      },
      {
        path: 'networks[0].subnets[0].range',
        message:
          "subnet 10.20.0.0/24 of network 'default' is not one the cloud has (its network 'default' has 10.0.0.0/16)",
      },
    ],
    [
      'a static range the cloud hands out dynamically',
      (cc: CloudConfig) => {
        subnet(cc).range = '10.0.0.0/16';
        subnet(cc).static = ['10.0.1.10-10.0.1.20'];
      },
      {
        path: 'networks[0].subnets[0].static[0]',
        message:
          "static 10.0.1.10-10.0.1.20 of network 'default' is outside the cloud's static ranges (it has 10.0.0.10-10.0.0.30)",
      },
    ],
    [
      'a network the cloud does not have',
      (cc: CloudConfig) => {
        const net = cc.networks[0];
        if (net) net.name = 'private';
      },
      { path: 'networks[0].name', message: "the cloud has no network 'private' (it has default)" },
    ],
    [
      'an AZ the cloud does not have',
      (cc: CloudConfig) => {
        const az = cc.azs[1];
        if (az) az.name = 'z9';
      },
      { path: 'azs[1].name', message: "the cloud has no AZ 'z9' (it has z1, z2, z3)" },
    ],
  ])('%s: named with its field and what the cloud has', (_name, change, expected) => {
    const cc = changed(change);
    // The manifest follows the cloud config's names, so only the cloud can object.
    const m = smallManifest('topo', (x) => {
      for (const g of x.instance_groups) {
        g.azs = cc.azs.map((a) => a.name);
        g.networks = [{ name: cc.networks[0]?.name ?? 'default' }];
      }
    });
    expect(topologyContradictions(m, cc, region)).toEqual([expected]);
  });

  describe('dynamic VMs need an address of the subnet the cloud also hands out dynamically', () => {
    // The example region before addressing: all of 10.0.0.2-10.0.0.255 static, so the example cloud
    // config's dynamic part (10.0.0.31-10.0.0.254) has no address a dynamic VM could get.
    const allStatic: CloudTopology = {
      ...region,
      networks: [
        { name: 'default', subnets: [{ range: '10.0.0.0/16', static: ['10.0.0.2-10.0.0.255'], azs: null }] },
      ],
    };
    it('none left: refused, naming the subnet, its dynamic part and the static ranges', () => {
      expect(topologyContradictions(manifest, cloudConfig(), allStatic)).toEqual([
        {
          path: 'networks[0].subnets[0].range',
          message:
            "subnet 10.0.0.0/24 of network 'default' leaves dynamic VMs no address: its dynamic part (10.0.0.31-10.0.0.254) lies in the cloud's static ranges (it has 10.0.0.2-10.0.0.255)",
        },
      ]);
    });
    it('every instance with a static IP: nothing to object to', () => {
      const m = smallManifest('topo', (x) => {
        x.instance_groups = x.instance_groups.slice(0, 1);
        const g = x.instance_groups[0];
        if (!g) throw new Error('no group');
        g.instances = 1;
        g.azs = ['z1'];
        g.networks = [{ name: 'default', static_ips: ['10.0.0.10'] }];
      });
      expect(topologyContradictions(m, cloudConfig(), allStatic)).toEqual([]);
    });
    it('one address left outside the static ranges: enough to plan', () => {
      const cc = changed((x) => (subnet(x).static = ['10.0.0.10-10.0.0.253']));
      const spare: CloudTopology = {
        ...region,
        networks: [
          {
            name: 'default',
            subnets: [{ range: '10.0.0.0/16', static: ['10.0.0.2-10.0.0.253'], azs: null }],
          },
        ],
      };
      expect(topologyContradictions(manifest, cc, spare)).toEqual([]);
    });
  });

  it('a network or AZ no group uses is not checked: a cloud config is shared by deployments', () => {
    const cc = changed((x) => {
      x.azs.push({ name: 'z9', cloud_properties: {} });
      x.networks.push({
        name: 'private',
        subnets: [
          {
            range: '172.16.0.0/24',
            gateway: '172.16.0.1',
            azs: ['z9'],
            reserved: [],
            static: [],
            cloud_properties: {},
          },
        ],
      });
    });
    expect(topologyContradictions(manifest, cc, region)).toEqual([]);
  });
});
