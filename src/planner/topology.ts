// The cloud config against the cloud's own topology: before any step, every AZ, network, subnet and
// static range the deployment uses must be one the cloud has, else the create that needs it fails
// mid-deploy with the cloud's 4xx (DESIGN §6: a cloud config that contradicts its cloud is a clear
// error before anything starts). Pure; each contradiction names the cloud config field, what it says
// and what the cloud has. Only what the manifest's groups use is checked: a cloud config is shared.
import type { CloudConfig } from '../domain/cloud-config';
import type { CloudTopology } from '../domain/cloud';
import { formatIpRange, parseCidr, parseIpRange, rangeContains, type IpRange } from '../domain/ip';
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
      // Dynamic VMs get addresses of this subnet that the cloud also hands out dynamically: none such
      // fails every dynamic create with no_free_ip. (The cloud's own gateway and reserved addresses are
      // not in its topology: those still surface at the create.)
      if (!needsDynamic(manifest, network.name, subnet.azs)) return;
      const ours = dynamicPart(range, [subnet.gateway, ...subnet.reserved, ...subnet.static]);
      if (ours.length === 0) return; // the cloud config leaves itself none: the plan's capacity warning says so
      const cloudStatic = statics.map(parseIpRange).filter((r): r is IpRange => r !== null);
      if (ours.some((piece) => subtractAll(piece, cloudStatic).length > 0)) return;
      out.push({
        path: `${at}.range`,
        message: `subnet ${subnet.range} of network '${network.name}' leaves dynamic VMs no address: its dynamic part (${ours.map(formatIpRange).join(', ')}) lies in the cloud's static ranges (it has ${list(statics)})`,
      });
    });
  });
  return out;
}

/** Some group on the network, in an AZ of the subnet, has an instance without a static IP. */
function needsDynamic(manifest: Manifest, network: string, azs: readonly string[]): boolean {
  return manifest.instance_groups.some((g) =>
    g.networks.some(
      (n) =>
        n.name === network &&
        (n.static_ips?.length ?? 0) < g.instances &&
        g.azs.some((az) => azs.includes(az)),
    ),
  );
}

/** The hosts of a CIDR (no network or broadcast address up to /30) minus the given entries. */
function dynamicPart(range: IpRange, cut: readonly string[]): IpRange[] {
  const size = range.last - range.first + 1;
  const hosts = size <= 2 ? range : { first: range.first + 1, last: range.last - 1 };
  return subtractAll(
    hosts,
    cut.map(parseIpRange).filter((r): r is IpRange => r !== null),
  );
}

function subtractAll(from: IpRange, cut: readonly IpRange[]): IpRange[] {
  let pieces = [from];
  for (const c of cut) {
    pieces = pieces.flatMap((p) => {
      if (c.last < p.first || c.first > p.last) return [p];
      const left = c.first > p.first ? [{ first: p.first, last: c.first - 1 }] : [];
      const right = c.last < p.last ? [{ first: c.last + 1, last: p.last }] : [];
      return [...left, ...right];
    });
  }
  return pieces;
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
