// IPv4 addresses, CIDR ranges and "a-b" ranges as plain numbers. Pure; parsers return null on bad input
// (fail closed) so callers can name the field that is wrong.

/** An inclusive range of IPv4 addresses as 32-bit unsigned numbers. */
export interface IpRange {
  first: number;
  last: number;
}

export interface Cidr extends IpRange {
  /** The address as written before the slash (may have host bits set; see `hostBitsSet`). */
  address: number;
  prefix: number;
  hostBitsSet: boolean;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** "10.0.0.1" → 167772161. No leading zeros (ambiguous: octal to some tools), each octet 0–255. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** "10.0.0.0/24" → first 10.0.0.0, last 10.0.0.255. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseIPv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === null || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const first = Math.floor(address / size) * size;
  return { address, prefix, first, last: first + size - 1, hostBitsSet: first !== address };
}

/** "10.0.0.2-10.0.0.9" or a single "10.0.0.2". Null if malformed or if the range runs backwards. */
export function parseIpRange(text: string): IpRange | null {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const single = parseIPv4(text.trim());
    return single === null ? null : { first: single, last: single };
  }
  const first = parseIPv4(text.slice(0, dash).trim());
  const last = parseIPv4(text.slice(dash + 1).trim());
  if (first === null || last === null || first > last) return null;
  return { first, last };
}

export function formatIpRange(range: IpRange): string {
  return range.first === range.last
    ? formatIPv4(range.first)
    : `${formatIPv4(range.first)}-${formatIPv4(range.last)}`;
}

export function rangeContains(outer: IpRange, inner: IpRange): boolean {
  return outer.first <= inner.first && inner.last <= outer.last;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function inAnyRange(ip: number, ranges: readonly IpRange[]): boolean {
  return ranges.some((r) => r.first <= ip && ip <= r.last);
}
