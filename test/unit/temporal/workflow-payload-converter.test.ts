// The workflow bundle's payload converter writes exactly the bytes of the SDK's default one and reads
// what it writes: histories recorded before replay, and clients (default converter) agree with it.
import { defaultPayloadConverter } from '@temporalio/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { payloadConverter } from '../../../src/temporal/workflow-payload-converter';

const bytes = (u: Uint8Array | null | undefined): number[] => [...(u ?? [])];

describe('workflow payload converter', () => {
  const cases: Array<[string, unknown]> = [
    ['an object', { deployment: 'web', n: 5, ok: true, none: null, list: [1, 'a', { b: [] }] }],
    ['non-ASCII text', { name: 'Zürich – 東京 – 🚀' }],
    ['a lone surrogate (JSON escapes it)', { broken: 'a\ud800b', low: '\udc00' }],
    ['a number', 42],
    ['a string', 'text'],
    ['null', null],
  ];
  it.each(cases)('writes the default converter’s bytes and reads them back: %s', (_name, value) => {
    const ours = payloadConverter.toPayload(value);
    const theirs = defaultPayloadConverter.toPayload(value);
    expect(bytes(ours.data)).toEqual(bytes(theirs.data));
    expect(ours.metadata).toEqual(theirs.metadata);
    expect(payloadConverter.fromPayload(theirs)).toEqual(defaultPayloadConverter.fromPayload(theirs));
  });

  it('leaves undefined and binary to the converters before it, as the default does', () => {
    const raw = new Uint8Array([1, 2, 3]);
    expect(payloadConverter.toPayload(raw)).toEqual(defaultPayloadConverter.toPayload(raw));
    expect(payloadConverter.toPayload(undefined)).toEqual(defaultPayloadConverter.toPayload(undefined));
  });

  it('agrees with the default on random JSON, any Unicode included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        const ours = payloadConverter.toPayload(value);
        const theirs = defaultPayloadConverter.toPayload(value);
        expect(bytes(ours.data)).toEqual(bytes(theirs.data));
        expect(payloadConverter.fromPayload(ours)).toEqual(defaultPayloadConverter.fromPayload(theirs));
      }),
      { numRuns: 300 },
    );
  });
});
