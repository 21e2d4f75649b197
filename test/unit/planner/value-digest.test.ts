// The watch's projection digest (planner/value-digest.ts): equal projections agree whatever their key
// order, any one changed field disagrees, and nothing collides across many distinct values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/planner/canonical';
import { projectionDigest } from '../../../src/planner/index';
import type { StatusRow } from '../../../src/planner/status';
import { valueDigest } from '../../../src/planner/value-digest';

function row(index: number, change: Partial<StatusRow> = {}): StatusRow {
  return {
    instance: `api/uuid-${index}`,
    group: 'api',
    index,
    az: 'z1',
    state: 'started',
    vm: `srv-${index}`,
    vm_state: 'ACTIVE',
    ips: [`10.0.0.${10 + index}`],
    macs: [`02:00:00:00:00:${index}`],
    power: 'running',
    health: 'healthy',
    ...change,
  };
}

const baseline = [row(0), row(1), row(2)];

describe('projectionDigest', () => {
  it('is 32 hex digits', () => {
    expect(projectionDigest(baseline)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('agrees on the same rows built with their keys in another order, or with undefined members', () => {
    const reordered = baseline.map((r) => Object.fromEntries(Object.entries(r).reverse()));
    const withUndefined = baseline.map((r) => ({ ...r, extra: undefined }));
    expect(projectionDigest(reordered)).toBe(projectionDigest(baseline));
    expect(projectionDigest(withUndefined)).toBe(projectionDigest(baseline));
  });

  const changes: Array<[string, Partial<StatusRow>]> = [
    ['the VM is another', { vm: 'srv-9' }],
    ['the VM is gone', { vm: null, vm_state: null, ips: [], macs: [], power: null, health: null }],
    ['the server went to ERROR', { vm_state: 'ERROR' }],
    ['it powered off', { power: 'stopped' }],
    ['it turned unhealthy', { health: 'unhealthy' }],
    ['it has a second address', { ips: ['10.0.0.11', '10.0.0.99'] }],
    ['its address changed by one digit', { ips: ['10.0.0.12'] }],
    ['it was detached', { state: 'detached' }],
    ['its index is a string', { index: '1' as unknown as number }],
  ];
  it.each(changes)('disagrees when one row changes: %s', (_name, change) => {
    const changed = [row(0), row(1, change), row(2)];
    expect(projectionDigest(changed)).not.toBe(projectionDigest(baseline));
  });

  it('disagrees when a row is added, removed or rows swap places', () => {
    expect(projectionDigest([...baseline, row(3)])).not.toBe(projectionDigest(baseline));
    expect(projectionDigest(baseline.slice(0, 2))).not.toBe(projectionDigest(baseline));
    expect(projectionDigest([row(1), row(0), row(2)])).not.toBe(projectionDigest(baseline));
  });
});

describe('valueDigest', () => {
  it('tells apart values whose strings split differently, and types that print alike', () => {
    const pairs: Array<[unknown, unknown]> = [
      [['a', 'b'], ['ab']],
      [['ab', ''], ['a', 'b']],
      [{ a: 'b' }, { ab: '' }],
      [[1], ['1']],
      [[true], ['true']],
      [[null], []],
      [{}, []],
      [[[]], [[], []]],
    ];
    for (const [a, b] of pairs) expect(valueDigest(a), JSON.stringify([a, b])).not.toBe(valueDigest(b));
  });

  it('agrees exactly when the canonical JSON agrees (random JSON values)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(valueDigest(a) === valueDigest(b)).toBe(canonicalJson(a) === canonicalJson(b));
      }),
      { numRuns: 500 },
    );
  });

  it('gives 20,000 distinct projections 20,000 distinct digests', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(valueDigest([row(i % 7, { vm: `srv-${i}` })]));
    expect(seen.size).toBe(20_000);
  });
});
