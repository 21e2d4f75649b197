// The fingerprint covers exactly the fields that force a new VM (DESIGN §4).
import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint, fingerprintFields, patent } from '../../../src/planner/index';
import type { Claim } from '../../../src/planner/types';
import { cloudWith, manifestWith } from './baseline';

const NONE = { reserved: [], static: [] };

const base = (): Claim => {
  const c = patent(manifestWith(), cloudWith()).claims.find((x) => x.id === 'db/0');
  if (!c) throw new Error('baseline lost db/0');
  return structuredClone(c);
};

describe('fingerprint: fields that force a new VM change it', () => {
  const forcing: [string, (c: Claim) => void][] = [
    ['group name', (c) => (c.group = 'db2')],
    ['cpus', (c) => (c.vmType.cpus += 1)],
    ['memory_mb', (c) => (c.vmType.memory_mb += 1)],
    ['disk_gb', (c) => (c.vmType.disk_gb += 1)],
    ['vm_type cloud_properties', (c) => (c.vmType.cloud_properties = { flavor: 'x' })],
    ['AZ', (c) => (c.az = 'z2')],
    ['AZ cloud_properties', (c) => (c.azCloudProperties = { zone: 'q' })],
    ['stemcell os', (c) => (c.stemcell.os = 'ubuntu-noble')],
    ['stemcell version', (c) => (c.stemcell.version = '1.182')],
    [
      'a network name',
      (c) =>
        (c.networks = [{ name: 'backend', subnet: '10.0.0.0/24', staticIp: '10.0.0.10', addressing: NONE }]),
    ],
    [
      'a subnet',
      (c) =>
        (c.networks = [{ name: 'default', subnet: '10.0.1.0/24', staticIp: '10.0.0.10', addressing: NONE }]),
    ],
    [
      'a static IP',
      (c) =>
        (c.networks = [{ name: 'default', subnet: '10.0.0.0/24', staticIp: '10.0.0.11', addressing: NONE }]),
    ],
    ['env', (c) => (c.env = { x: 1 })],
  ];
  it.each(forcing)('%s', (_, edit) => {
    const claim = base();
    const before = fingerprint(claim);
    edit(claim);
    expect(fingerprint(claim)).not.toBe(before);
  });
});

describe('fingerprint: labels, identity and disks leave it alone', () => {
  const neutral: [string, (c: Claim) => void][] = [
    ['the vm_type name', (c) => (c.vmType.name = 'renamed')],
    ['the stemcell alias', (c) => (c.stemcell.alias = 'lts')],
    ['the index and id', (c) => Object.assign(c, { index: 7, id: 'db/7' })],
    ['the bootstrap flag', (c) => (c.bootstrap = !c.bootstrap)],
    ['the persistent disk', (c) => (c.persistentDisk = { size_gb: 99, type: null, cloud_properties: {} })],
    [
      "the subnet's reserved and static ranges (where dynamic addresses come from)",
      (c) => c.networks.forEach((n) => (n.addressing = { reserved: ['10.0.0.2-10.0.0.99'], static: [] })),
    ],
    [
      'key order inside env and cloud properties',
      (c) => {
        c.env = { b: 2, a: 1 };
        c.vmType.cloud_properties = { y: 1, x: 2 };
      },
    ],
  ];
  it.each(neutral)('%s', (name, edit) => {
    const claim = base();
    if (name.startsWith('key order')) {
      claim.env = { a: 1, b: 2 };
      claim.vmType.cloud_properties = { x: 2, y: 1 };
    }
    const before = fingerprint(claim);
    edit(claim);
    expect(fingerprint(claim)).toBe(before);
  });

  it('is the claim fingerprint the patent computed, a sha256 in hex', () => {
    const claim = base();
    expect(fingerprint(claim)).toBe(claim.fingerprint);
    expect(claim.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(fingerprintFields(claim))).toBe(claim.fingerprint);
  });

  it('hashes exactly the documented fields', () => {
    expect(Object.keys(fingerprintFields(base())).sort()).toEqual([
      'az',
      'env',
      'group',
      'networks',
      'stemcell',
      'vm_type',
    ]);
    expect(fingerprintFields(base()).vm_type).not.toHaveProperty('name');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });
  it('sorts integer-like keys as strings, which plain objects would not', () => {
    expect(canonicalJson({ b: 1, 10: 2, 2: 3 })).toBe('{"10":2,"2":3,"b":1}');
  });
  it('drops undefined members as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
});
