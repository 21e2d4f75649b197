import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { GzipPayloadCodec } from '../../../src/temporal/data-converter';

const codec = new GzipPayloadCodec(1024);

describe('gzip payload codec', () => {
  it('leaves small payloads readable as they are', async () => {
    const p = defaultPayloadConverter.toPayload({ hello: 'world' });
    expect(await codec.encode([p])).toEqual([p]);
  });

  it('compresses large payloads and restores them exactly', async () => {
    const big = Array.from({ length: 5000 }, (_, i) => ({
      id: `server-${i}`,
      tags: { 'converge.deployment': 'web', 'converge.group': 'api', 'converge.index': String(i) },
    }));
    const p = defaultPayloadConverter.toPayload(big);
    const [encoded] = await codec.encode([p]);
    expect(encoded?.data?.length).toBeLessThan((p.data?.length ?? 0) / 5);
    expect(new TextDecoder().decode(encoded?.metadata?.encoding)).toBe('binary/gzip');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(big);
  });

  it('passes through payloads it did not encode', async () => {
    const p = defaultPayloadConverter.toPayload('x'.repeat(10));
    expect(await codec.decode([p])).toEqual([p]);
  });
});
