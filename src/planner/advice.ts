// Warnings about inputs that are valid but probably not what the user meant: values a BOSH manifest
// carries over in the wrong unit, subnets too small for their instances, canaries that cover a whole
// group, fewer static IPs than instances. Pure; the CLI adds them to every plan it prints. They never
// change a plan (the workflows do not call this), so a warning can be sharpened without a patch.
import type { CloudConfig } from '../domain/cloud-config';
import { parseCidr, parseIPv4, parseIpRange, type IpRange } from '../domain/ip';
import type { Manifest } from '../domain/manifest';
import type { Patent } from './types';

/**
 * A persistent disk this large (GB) is more often a BOSH value in MB (`persistent_disk: 10240` is
 * 10 GB in BOSH and 10 TB here) than a real request.
 */
export const IMPLAUSIBLE_DISK_GB = 1024;

export function inputWarnings(manifest: Manifest, cloudConfig: CloudConfig, patent: Patent): string[] {
  return [
    ...diskWarnings(manifest, cloudConfig),
    ...canaryWarnings(patent),
    ...staticIpWarnings(manifest),
    ...subnetWarnings(cloudConfig, patent),
  ];
}

function diskWarnings(manifest: Manifest, cloudConfig: CloudConfig): string[] {
  const out: string[] = [];
  for (const g of manifest.instance_groups) {
    const gb = g.persistent_disk;
    if (gb !== undefined && gb >= IMPLAUSIBLE_DISK_GB) {
      out.push(
        `${g.name}: persistent_disk ${gb} is ${gb} GB per instance (about ${(gb / 1024).toFixed(1)} TB); ` +
          `BOSH's persistent_disk is MB: for ${Math.max(1, Math.round(gb / 1024))} GB write ${Math.max(1, Math.round(gb / 1024))}`,
      );
    }
  }
  for (const d of cloudConfig.disk_types) {
    if (d.disk_gb >= IMPLAUSIBLE_DISK_GB) {
      out.push(
        `disk_types ${d.name}: disk_gb ${d.disk_gb} is about ${(d.disk_gb / 1024).toFixed(1)} TB; ` +
          "BOSH's disk_size is MB, Converge's disk_gb is GB",
      );
    }
  }
  return out;
}

function canaryWarnings(patent: Patent): string[] {
  return patent.groups
    .filter((g) => g.instances > 0 && g.canaries > g.instances)
    .map(
      (g) =>
        `${g.name}: canaries ${g.canaries} > instances ${g.instances}: the whole group is canaries, so no ` +
        'instance is updated only after a canary has proven the change',
    );
}

function staticIpWarnings(manifest: Manifest): string[] {
  const out: string[] = [];
  for (const g of manifest.instance_groups) {
    for (const n of g.networks) {
      const given = n.static_ips?.length ?? 0;
      if (given === 0 || given >= g.instances) continue;
      const dynamic = Array.from({ length: g.instances - given }, (_, i) => `${g.name}/${given + i}`);
      out.push(
        `${g.name}: ${g.instances} instances but ${given} static IP${given === 1 ? '' : 's'} on network ${n.name}: ` +
          `${dynamic.join(', ')} get${dynamic.length === 1 ? 's' : ''} a dynamic IP`,
      );
    }
  }
  return out;
}

/**
 * Claims needing a dynamic address from a subnet, against the addresses it has for them: the range
 * minus its network and broadcast addresses, the gateway, `reserved` and `static`. A hot_swap holds a
 * second address per instance in flight, so a subnet filled exactly cannot hot-swap.
 */
function subnetWarnings(cloudConfig: CloudConfig, patent: Patent): string[] {
  const demand = new Map<string, { network: string; count: number; swap: number }>();
  const swapping = new Map(patent.groups.map((g) => [g.name, g.strategy === 'hot_swap' ? g.maxInFlight : 0]));
  for (const c of patent.claims) {
    for (const n of c.networks) {
      if (n.staticIp !== null) continue;
      const key = `${n.name}\u0000${n.subnet}`;
      const d = demand.get(key) ?? { network: n.name, count: 0, swap: 0 };
      d.count++;
      d.swap = Math.max(d.swap, swapping.get(c.group) ?? 0);
      demand.set(key, d);
    }
  }
  const out: string[] = [];
  for (const network of cloudConfig.networks) {
    for (const subnet of network.subnets) {
      const d = demand.get(`${network.name}\u0000${subnet.range}`);
      if (!d) continue;
      const free = dynamicAddresses(subnet);
      if (free === null) continue;
      if (d.count > free) {
        out.push(
          `network ${network.name} subnet ${subnet.range}: ${d.count} instances need a dynamic IP, ` +
            `it has ${free} (range minus gateway, reserved and static)`,
        );
      } else if (d.swap > 0 && d.count + d.swap > free) {
        out.push(
          `network ${network.name} subnet ${subnet.range}: ${d.count} instances fill ${free} dynamic IPs; ` +
            `a hot_swap needs ${d.swap} more while it runs`,
        );
      }
    }
  }
  return out;
}

/** Addresses of the subnet left for dynamic IPs, or null if a range does not parse (validation says so). */
export function dynamicAddresses(subnet: CloudConfig['networks'][number]['subnets'][number]): number | null {
  const cidr = parseCidr(subnet.range);
  const gateway = parseIPv4(subnet.gateway);
  if (cidr === null || gateway === null) return null;
  // Network and broadcast addresses are not usable (a /31 or /32 has none to spare).
  const usable: IpRange = cidr.prefix >= 31 ? cidr : { first: cidr.first + 1, last: cidr.last - 1 };
  const taken: IpRange[] = [{ first: gateway, last: gateway }];
  for (const text of [...subnet.reserved, ...subnet.static]) {
    const r = parseIpRange(text);
    if (r === null) return null;
    taken.push(r);
  }
  // Merged intervals, clipped to the usable range: a reserved /16 costs one entry, not 65,536.
  const clipped = taken
    .map((r) => ({ first: Math.max(r.first, usable.first), last: Math.min(r.last, usable.last) }))
    .filter((r) => r.first <= r.last)
    .sort((x, y) => x.first - y.first || x.last - y.last);
  let inRange = 0;
  let end = -1;
  for (const r of clipped) {
    const from = Math.max(r.first, end + 1);
    if (r.last >= from) inRange += r.last - from + 1;
    end = Math.max(end, r.last);
  }
  return usable.last - usable.first + 1 - inRange;
}
