import { describe, expect, it } from 'vitest';
import {
  formatIPv4,
  formatIpRange,
  inAnyRange,
  parseCidr,
  parseIpRange,
  parseIPv4,
  rangeContains,
  rangesOverlap,
} from '../../../src/domain/ip';

describe('parseIPv4', () => {
  it.each([
    ['an ordinary address', '10.0.0.1', 167772161],
    ['the lowest address', '0.0.0.0', 0],
    ['the highest address', '255.255.255.255', 4294967295],
  ])('accepts %s: %s', (_name, text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatIPv4(value)).toBe(text);
  });

  it.each([
    ['an octet over 255', '10.0.0.256'],
    ['three octets', '10.0.0'],
    ['five octets', '10.0.0.1.2'],
    ['a leading zero (octal to some tools)', '10.0.0.010'],
    ['a sign', '10.0.0.-1'],
    ['an empty octet', '10..0.1'],
    ['a name', 'localhost'],
    ['an empty string', ''],
  ])('rejects %s: %s', (_name, text) => {
    expect(parseIPv4(text)).toBeNull();
  });
});

describe('parseCidr', () => {
  it('gives the first and last address of the range', () => {
    const cidr = parseCidr('10.0.0.0/24');
    expect(cidr && [formatIPv4(cidr.first), formatIPv4(cidr.last), cidr.prefix, cidr.hostBitsSet]).toEqual([
      '10.0.0.0',
      '10.0.0.255',
      24,
      false,
    ]);
  });

  it('notices host bits set after the prefix, and still gives the network', () => {
    const cidr = parseCidr('10.0.0.7/24');
    expect(cidr?.hostBitsSet).toBe(true);
    expect(cidr && formatIPv4(cidr.first)).toBe('10.0.0.0');
  });

  it.each([
    ['a /32 holds one address', '10.0.0.5/32', 1],
    ['a /0 holds every address', '0.0.0.0/0', 2 ** 32],
  ])('%s', (_name, text, size) => {
    const cidr = parseCidr(text);
    expect(cidr && cidr.last - cidr.first + 1).toBe(size);
  });

  it.each([
    ['a prefix over 32', '10.0.0.0/33'],
    ['no prefix', '10.0.0.0'],
    ['a bad address', '10.0.0.300/24'],
    ['a prefix with a leading zero', '10.0.0.0/024'],
  ])('rejects %s: %s', (_name, text) => {
    expect(parseCidr(text)).toBeNull();
  });
});

describe('parseIpRange', () => {
  it.each([
    ['a range', '10.0.0.2-10.0.0.9', '10.0.0.2-10.0.0.9'],
    ['a range with spaces around the dash', '10.0.0.2 - 10.0.0.9', '10.0.0.2-10.0.0.9'],
    ['a single address', '10.0.0.2', '10.0.0.2'],
    ['a range of one', '10.0.0.2-10.0.0.2', '10.0.0.2'],
  ])('accepts %s', (_name, text, formatted) => {
    const range = parseIpRange(text);
    expect(range && formatIpRange(range)).toBe(formatted);
  });

  it.each([
    ['a backwards range', '10.0.0.9-10.0.0.2'],
    ['a bad end', '10.0.0.2-10.0.0.300'],
    ['a CIDR', '10.0.0.0/24'],
  ])('rejects %s: %s', (_name, text) => {
    expect(parseIpRange(text)).toBeNull();
  });
});

describe('range relations', () => {
  const subnet = { first: 100, last: 200 };
  it.each([
    ['inside', { first: 120, last: 130 }, true, true],
    ['the same range', { first: 100, last: 200 }, true, true],
    ['straddling the end', { first: 190, last: 210 }, false, true],
    ['touching at one address', { first: 200, last: 250 }, false, true],
    ['after it', { first: 201, last: 250 }, false, false],
  ])('a range %s: contained %s, overlapping %s', (_name, other, contained, overlapping) => {
    expect(rangeContains(subnet, other)).toBe(contained);
    expect(rangesOverlap(subnet, other)).toBe(overlapping);
    expect(rangesOverlap(other, subnet)).toBe(overlapping);
  });

  it('inAnyRange checks every range', () => {
    expect(inAnyRange(150, [{ first: 0, last: 10 }, subnet])).toBe(true);
    expect(inAnyRange(50, [{ first: 0, last: 10 }, subnet])).toBe(false);
  });
});
