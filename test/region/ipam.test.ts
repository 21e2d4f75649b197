import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/region/errors';
import { NetworkIpam, cidrHosts, ipToNum, numToIp, parseRange, subtract } from '../../src/region/ipam';

const ip = (s: string): number => ipToNum(s) ?? NaN;

describe('addresses', () => {
  it('round-trips IPv4 and rejects malformed ones', () => {
    expect(numToIp(ip('10.20.30.40'))).toBe('10.20.30.40');
    expect(numToIp(ip('255.255.255.255'))).toBe('255.255.255.255');
    for (const bad of ['10.0.0', '10.0.0.256', 'a.b.c.d', '10.0.0.1 ']) expect(ipToNum(bad)).toBeUndefined();
  });

  it('gives the usable hosts of a CIDR and rejects a misaligned one', () => {
    expect(cidrHosts('10.0.0.0/24')?.map(numToIp)).toEqual(['10.0.0.1', '10.0.0.254']);
    expect(cidrHosts('10.0.0.8/29')?.map(numToIp)).toEqual(['10.0.0.9', '10.0.0.14']);
    expect(cidrHosts('10.0.0.1/24')).toBeUndefined();
    expect(cidrHosts('10.0.0.0/7')).toBeUndefined();
  });

  it('parses single addresses and ranges, and subtracts intervals', () => {
    expect(parseRange('10.0.0.5')).toEqual([ip('10.0.0.5'), ip('10.0.0.5')]);
    expect(parseRange('10.0.0.9-10.0.0.3')).toBeUndefined();
    expect(
      subtract(
        [1, 10],
        [
          [3, 4],
          [8, 20],
          [0, 1],
        ],
      ),
    ).toEqual([
      [2, 2],
      [5, 7],
    ]);
  });
});

describe('NetworkIpam', () => {
  const make = () =>
    new NetworkIpam('n', [
      {
        hosts: [ip('10.0.0.1'), ip('10.0.0.6')],
        gateway: ip('10.0.0.1'),
        reserved: [[ip('10.0.0.2'), ip('10.0.0.2')]],
        static: [[ip('10.0.0.3'), ip('10.0.0.3')]],
        azs: ['z1'],
      },
      {
        hosts: [ip('10.0.1.1'), ip('10.0.1.2')],
        gateway: ip('10.0.1.1'),
        reserved: [],
        static: [],
        azs: undefined,
      },
    ]);

  it('hands out dynamic addresses in order per AZ, skipping gateway, reserved and static', () => {
    const ipam = make();
    const got = [
      ipam.claimDynamic('z1'),
      ipam.claimDynamic('z1'),
      ipam.claimDynamic('z1'),
      ipam.claimDynamic('z1'),
    ].map(numToIp);
    expect(got).toEqual(['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.1.2']);
    expect(() => ipam.claimDynamic('z1')).toThrow(ApiError);
    expect(() => ipam.claimDynamic('z2')).toThrow(/no free dynamic address/);
  });

  it('reuses a released address only after the others (next fit)', () => {
    const ipam = make();
    const a = ipam.claimDynamic('z2');
    expect(numToIp(a)).toBe('10.0.1.2');
    ipam.release(a);
    expect(numToIp(ipam.claimDynamic('z2'))).toBe('10.0.1.2');
    const first = ipam.claimDynamic('z1');
    ipam.release(first);
    expect(numToIp(ipam.claimDynamic('z1'))).toBe('10.0.0.5');
  });

  it('claims static addresses only from static ranges, once, in a subnet serving the AZ', () => {
    const ipam = make();
    expect(numToIp(ipam.claimStatic('10.0.0.3', 'z1'))).toBe('10.0.0.3');
    expect(() => ipam.claimStatic('10.0.0.3', 'z1')).toThrow(/already in use/);
    expect(() => ipam.claimStatic('10.0.0.4', 'z1')).toThrow(/not in a static range/);
    expect(() => ipam.claimStatic('10.0.0.3', 'z2')).toThrow(/not in a static range|does not serve/);
    expect(ipam.servesAz('z2')).toBe(true);
  });
});
