// Build polls fall on the build's own clock (waits.ts untilNextTick): the look after a create's
// answer, and every later one, lands on created_at + k × pollMs, whenever the previous look came back.
import { describe, expect, it } from 'vitest';
import { untilNextTick } from '../../../src/activities/waits';

describe('untilNextTick', () => {
  it('waits for the first whole interval after the build began, then for each next one', () => {
    expect(untilNextTick(10_000, 1_000, 10_005)).toBe(995);
    expect(untilNextTick(10_000, 1_000, 11_030)).toBe(970);
    expect(untilNextTick(10_000, 1_000, 12_400)).toBe(600);
  });

  it('keeps looks a twentieth of an interval apart when a look comes back at or just before a tick', () => {
    expect(untilNextTick(10_000, 1_000, 11_990)).toBe(50);
    expect(untilNextTick(10_000, 1_000, 12_000)).toBe(50);
  });

  it('never looks before the first interval, even when the region clock is ahead of ours', () => {
    expect(untilNextTick(10_300, 1_000, 10_000)).toBe(1_300);
  });
});
