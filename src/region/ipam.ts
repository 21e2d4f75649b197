// IP address management for one network: static addresses on request, dynamic ones from the free part
// of the subnets (everything except network/broadcast, gateway, reserved and static ranges).
import { ApiError } from './errors';

export type Interval = readonly [lo: number, hi: number];

export function ipToNum(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  let n = 0;
  for (const part of m.slice(1)) {
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Usable host addresses of a CIDR (without network and broadcast for prefixes up to /30). */
export function cidrHosts(cidr: string): Interval | undefined {
  const [ip, bits] = cidr.split('/');
  const base = ipToNum(ip ?? '');
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = base - (base % size);
  if (network !== base) return undefined;
  return size <= 2 ? [network, network + size - 1] : [network + 1, network + size - 2];
}

/** "10.0.0.2-10.0.0.9" or "10.0.0.2" → an interval, or undefined when malformed. */
export function parseRange(entry: string): Interval | undefined {
  const [a, b] = entry.split('-').map((s) => s.trim());
  const lo = ipToNum(a ?? '');
  const hi = b === undefined ? lo : ipToNum(b);
  if (lo === undefined || hi === undefined || hi < lo) return undefined;
  return [lo, hi];
}

/** `from` minus every interval in `cut`, as sorted disjoint intervals. */
export function subtract(from: Interval, cut: readonly Interval[]): Interval[] {
  let pieces: Interval[] = [from];
  for (const [clo, chi] of cut) {
    const next: Interval[] = [];
    for (const [lo, hi] of pieces) {
      if (chi < lo || clo > hi) next.push([lo, hi]);
      else {
        if (clo > lo) next.push([lo, clo - 1]);
        if (chi < hi) next.push([chi + 1, hi]);
      }
    }
    pieces = next;
  }
  return pieces.sort((x, y) => x[0] - y[0]);
}

const within = (n: number, intervals: readonly Interval[]): boolean =>
  intervals.some(([lo, hi]) => n >= lo && n <= hi);

export interface SubnetSpec {
  hosts: Interval;
  gateway: number;
  reserved: Interval[];
  static: Interval[];
  /** AZs served; undefined means every AZ. */
  azs: string[] | undefined;
}

interface Subnet extends SubnetSpec {
  dynamic: Interval[];
  /** Next-fit cursor: recently freed addresses are not handed out again at once, as in real clouds. */
  cursor: number;
}

/** The caller's subnet: dynamic addresses only from `hosts`, never from `excluded`. */
export interface AddressLimit {
  /** The CIDR as the caller wrote it (for messages). */
  range: string;
  hosts: Interval;
  excluded: Interval[];
}

export class NetworkIpam {
  readonly #subnets: Subnet[];
  readonly #used = new Set<number>();

  constructor(
    readonly name: string,
    subnets: SubnetSpec[],
  ) {
    this.#subnets = subnets.map((s) => {
      const dynamic = subtract(s.hosts, [[s.gateway, s.gateway], ...s.reserved, ...s.static]);
      return { ...s, dynamic, cursor: dynamic[0]?.[0] ?? 0 };
    });
  }

  /** Marks an address taken (loading existing servers at start). */
  markUsed(ip: number): void {
    this.#used.add(ip);
  }

  release(ip: number): void {
    this.#used.delete(ip);
  }

  /** Reserves a specific static address, or explains why not. */
  claimStatic(ip: string, az: string): number {
    const n = ipToNum(ip);
    if (n === undefined)
      throw new ApiError(400, 'invalid', `static_ip: ${ip} is not an IPv4 address`, 'static_ip');
    const subnet = this.#subnets.find((s) => within(n, s.static));
    if (!subnet) {
      throw new ApiError(
        422,
        'invalid_ip',
        `static_ip ${ip} is not in a static range of network ${this.name}`,
        'static_ip',
      );
    }
    if (subnet.azs && !subnet.azs.includes(az)) {
      throw new ApiError(
        422,
        'invalid_ip',
        `static_ip ${ip} is in a subnet that does not serve az ${az}`,
        'static_ip',
      );
    }
    if (this.#used.has(n))
      throw new ApiError(409, 'ip_taken', `static_ip ${ip} is already in use`, 'static_ip');
    this.#used.add(n);
    return n;
  }

  /**
   * Picks a free dynamic address in a subnet serving the AZ: the next one (next-fit) when the caller
   * gives no limit, else the lowest one inside the caller's range and outside its excluded ranges
   * (the director's subnet decides, as EC2's adapter does). None: 409 `no_free_ip`.
   */
  claimDynamic(az: string, limit?: AddressLimit): number {
    for (const subnet of this.#subnets) {
      if (subnet.azs && !subnet.azs.includes(az)) continue;
      const n = limit === undefined ? this.#nextFree(subnet) : this.#lowestFree(subnet, limit);
      if (n !== undefined) {
        this.#used.add(n);
        return n;
      }
    }
    const where = limit === undefined ? '' : ` in ${limit.range} outside its reserved and static ranges`;
    throw new ApiError(
      409,
      'no_free_ip',
      `network ${this.name} has no free dynamic address for az ${az}${where}`,
      'network',
    );
  }

  servesAz(az: string): boolean {
    return this.#subnets.some((s) => !s.azs || s.azs.includes(az));
  }

  #lowestFree(subnet: Subnet, limit: AddressLimit): number | undefined {
    const [first, last] = limit.hosts;
    for (const [lo, hi] of subnet.dynamic) {
      if (hi < first || lo > last) continue;
      for (const [from, to] of subtract([Math.max(lo, first), Math.min(hi, last)], limit.excluded)) {
        for (let n = from; n <= to; n++) if (!this.#used.has(n)) return n;
      }
    }
    return undefined;
  }

  #nextFree(subnet: Subnet): number | undefined {
    const ranges = subnet.dynamic;
    if (ranges.length === 0) return undefined;
    // Walk the intervals once, starting at the cursor and wrapping around.
    const start = Math.max(
      0,
      ranges.findIndex(([lo, hi]) => subnet.cursor >= lo && subnet.cursor <= hi),
    );
    for (let step = 0; step <= ranges.length; step++) {
      const idx = (start + step) % ranges.length;
      const range = ranges[idx];
      if (!range) continue;
      const [lo, hi] = range;
      const from = step === 0 ? Math.max(lo, subnet.cursor) : lo;
      const to = step === ranges.length ? Math.min(hi, subnet.cursor - 1) : hi;
      for (let n = from; n <= to; n++) {
        if (!this.#used.has(n)) {
          subnet.cursor = n + 1;
          return n;
        }
      }
    }
    return undefined;
  }
}
