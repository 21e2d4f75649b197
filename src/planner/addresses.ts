// Dynamic addresses per subnet: what a hot_swap surge may take. While a hot_swap replaces a VM, the
// old and the new VM each hold an address; new VMs are built in batch up front, so every hot_swap
// replacement of a subnet holds its second address at once. A subnet that cannot hold them all would
// leave creates retrying for an address no one frees until their own update runs. The planner gives
// hot_swap to the replacements that fit (plan order: canaries first) and delete_create to the rest,
// with the reason in the plan.
import type { CloudConfig } from '../domain/cloud-config';
import { parseCidr, parseIPv4, parseIpRange, type IpRange } from '../domain/ip';
import type { Claim } from './types';

/** `<network> <range>`: one subnet of the cloud config. */
export const poolKey = (network: string, range: string): string => `${network} ${range}`;

/**
 * Addresses a subnet can hand out to VMs without a static IP: every address of the range but the
 * network and broadcast addresses (for /30 and wider), the gateway, and its reserved and static
 * ranges (counted once where they overlap). Worked example: 10.0.0.0/29 with gateway .1, reserved
 * .2-.3 and static .4: 8 − 2 − 1 − 2 − 1 = 2.
 */
export function dynamicAddresses(cloudConfig: CloudConfig): Map<string, number> {
  const out = new Map<string, number>();
  for (const network of cloudConfig.networks) {
    for (const subnet of network.subnets) {
      const cidr = parseCidr(subnet.range);
      if (!cidr) continue;
      const taken: IpRange[] = [];
      if (cidr.prefix <= 30)
        taken.push({ first: cidr.first, last: cidr.first }, { first: cidr.last, last: cidr.last });
      const gateway = parseIPv4(subnet.gateway);
      if (gateway !== null) taken.push({ first: gateway, last: gateway });
      for (const text of [...subnet.reserved, ...subnet.static]) {
        const r = parseIpRange(text);
        if (r) taken.push(r);
      }
      out.set(poolKey(network.name, subnet.range), cidr.last - cidr.first + 1 - covered(taken, cidr));
    }
  }
  return out;
}

/** Addresses of `ranges` inside `within`, each counted once. */
function covered(ranges: readonly IpRange[], within: IpRange): number {
  const clipped = ranges
    .map((r) => ({ first: Math.max(r.first, within.first), last: Math.min(r.last, within.last) }))
    .filter((r) => r.first <= r.last)
    .sort((a, b) => a.first - b.first);
  let count = 0;
  let end = within.first - 1;
  for (const r of clipped) {
    if (r.last <= end) continue;
    count += r.last - Math.max(r.first, end + 1) + 1;
    end = r.last;
  }
  return count;
}

/** The subnet a claim's VM takes a dynamic address from (its primary network), or null with a static IP. */
export function dynamicPool(claim: Claim): string | null {
  const primary = claim.networks[0];
  if (!primary || claim.networks.some((n) => n.staticIp !== null)) return null;
  return poolKey(primary.name, primary.subnet);
}

/**
 * Hands out the surge room of each subnet: its dynamic addresses less one for every claim of the
 * patent that takes one (each will hold a VM). `take` answers whether one more hot_swap fits.
 */
export class SurgeRoom {
  /** Counted at the first `take`: a plan that replaces nothing (a no-op redeploy) never counts. */
  private room: Map<string, { capacity: number; base: number; used: number }> | null = null;

  constructor(
    private readonly capacity: ReadonlyMap<string, number>,
    private readonly claims: readonly Claim[],
  ) {}

  private count(): Map<string, { capacity: number; base: number; used: number }> {
    const room = new Map<string, { capacity: number; base: number; used: number }>();
    for (const claim of this.claims) {
      const key = dynamicPool(claim);
      if (key === null) continue;
      const pool = room.get(key) ?? { capacity: this.capacity.get(key) ?? Infinity, base: 0, used: 0 };
      pool.base += 1;
      room.set(key, pool);
    }
    return room;
  }

  /** null when the hot_swap fits (and counts it), else why it does not. */
  take(claim: Claim): string | null {
    this.room ??= this.count();
    const key = dynamicPool(claim);
    const pool = key === null ? undefined : this.room.get(key);
    if (!pool) return null;
    if (pool.base + pool.used < pool.capacity) {
      pool.used += 1;
      return null;
    }
    const primary = claim.networks[0];
    return (
      `delete_create instead of hot_swap: subnet ${primary?.subnet ?? '?'} (network ${primary?.name ?? '?'}) ` +
      `has ${pool.capacity} dynamic addresses, ${pool.base} held by the deployment's VMs and ${pool.used} by ` +
      `hot_swap replacements: no room for another VM while both live`
    );
  }
}
