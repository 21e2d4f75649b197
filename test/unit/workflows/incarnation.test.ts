import { describe, expect, it } from 'vitest';
import { incarnationOf, keyedOperation, operationNameOf } from '../../../src/workflows/incarnation';

describe('incarnation', () => {
  it('is 8 hex digits, the same for the same first run id', () => {
    const id = '01a20018-dab4-74c7-93ff-ef27c7325c97';
    expect(incarnationOf(id)).toMatch(/^[0-9a-f]{8}$/);
    expect(incarnationOf(id)).toBe(incarnationOf(id));
  });

  it('tells apart time-ordered run ids that share their prefix (UUIDv7 runs seconds apart)', () => {
    const a = incarnationOf('01a20018-dab4-74c7-93ff-ef27c7325c97');
    const b = incarnationOf('01a20018-d933-72df-982a-fdb3cab1ed2f');
    expect(a).not.toBe(b);
  });

  it('qualifies the key operation only when an incarnation is known', () => {
    expect(keyedOperation({ operation: 'op-1' })).toBe('op-1');
    expect(keyedOperation({ operation: 'op-1', incarnation: 'ab12cd34' })).toBe('op-1@ab12cd34');
  });

  it('reads the operation name back out of a tag, with or without an incarnation', () => {
    expect(operationNameOf('op-12@ab12cd34')).toBe('op-12');
    expect(operationNameOf('op-12')).toBe('op-12');
  });
});
