// The cloud config against the cloud's own topology: before any step, every AZ, network, subnet and
// static range the deployment uses must be one the cloud has, else the create that needs it fails
// mid-deploy with the cloud's 4xx (DESIGN §6: a cloud config that contradicts its cloud is a clear
// error before anything starts). Pure; each contradiction names the cloud config field, what it says
// and what the cloud has. Only what the manifest's groups use is checked: a cloud config is shared.
import type { CloudConfig } from '../domain/cloud-config';
import type { CloudTopology } from '../domain/cloud';
import { parseCidr, parseIpRange, rangeContains, type IpRange } from '../domain/ip';
import type { Manifest } from '../domain/manifest';

export interface Contradiction {
  /** The cloud config field, e.g. `networks[0].subnets[0].static[1]`. */
  path: string;
  message: string;
}

export function topologyContradictions(
  manifest: Manifest,
  cloudConfig: CloudConfig,
  cloud: CloudTopology,
): Contradiction[] {
  const out: Contradiction[] = [];
  const usedAzs = new Set(manifest.instance_groups.flatMap((g) => g.azs));
  const usedNetworks = new Set(manifest.instance_groups.flatMap((g) => g.networks.map((n) => n.name)));

  cloudConfig.azs.forEach((az, i) => {
    if (usedAzs.has(az.name) && !cloud.azs.includes(az.name))
      out.push({
        path: `azs[${i}].name`,
        message: `the cloud has no AZ '${az.name}' (it has ${list(cloud.azs)})`,
      });
  });

  cloudConfig.networks.forEach((network, n) => {
    if (!usedNetworks.has(network.name)) return;
    const theirs = cloud.networks.find((c) => c.name === network.name);
    if (!theirs) {
      const names = list(cloud.networks.map((c) => c.name));
      out.push({
        path: `networks[${n}].name`,
        message: `the cloud has no network '${network.name}' (it has ${names})`,
      });
      return;
    }
    const ranges = list(theirs.subnets.map((s) => s.range));
    const statics = theirs.subnets.flatMap((s) => s.static);
    network.subnets.forEach((subnet, k) => {
      const at = `networks[${n}].subnets[${k}]`;
      const range = parseCidr(subnet.range);
      if (
        !range ||
        !within(
          range,
          theirs.subnets.map((s) => s.range),
          parseCidr,
        )
      ) {
        out.push({
          path: `${at}.range`,
          message: `subnet ${subnet.range} of network '${network.name}' is not one the cloud has (its network '${network.name}' has ${ranges})`,
        });
        return;
      }
      subnet.static.forEach((text, j) => {
        const r = parseIpRange(text);
        if (r && within(r, statics, parseIpRange)) return;
        out.push({
          path: `${at}.static[${j}]`,
          message: `static ${text} of network '${network.name}' is outside the cloud's static ranges (it has ${list(statics)})`,
        });
      });
    });
  });
  return out;
}

function list(items: readonly string[]): string {
  return items.length > 0 ? items.join(', ') : 'none';
}

/** Is `inner` inside one of `outer` (written as text, parsed by `parse`; what does not parse holds nothing)? */
function within(inner: IpRange, outer: readonly string[], parse: (t: string) => IpRange | null): boolean {
  return outer.some((text) => {
    const r = parse(text);
    return r !== null && rangeContains(r, inner);
  });
}
