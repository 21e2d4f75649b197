// The EC2 adapter's batching: requests that wait for the same turn leave as one call, a lone one
// leaves at once, and a batch never carries more values than one call may.
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../src/cloud/ec2/batch';

/** A bucket whose turns the test hands out one by one. */
function turns(): { take: () => Promise<void>; grant: () => void; waiting: () => number } {
  const queue: Array<() => void> = [];
  return {
    take: () => new Promise<void>((resolve) => queue.push(resolve)),
    grant: () => queue.shift()?.(),
    waiting: () => queue.length,
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('sends a lone request as soon as its turn comes, with its value only', async () => {
    const sent: string[][] = [];
    const b = new Batcher<string>(() => Promise.resolve(), 10);
    expect(await b.join('g', 'a', (v) => (sent.push(v), Promise.resolve('answer')))).toBe('answer');
    expect(sent).toEqual([['a']]);
  });

  it('joins requests made while the batch waits for its turn, and opens a new batch after it left', async () => {
    const t = turns();
    const sent: string[][] = [];
    const b = new Batcher<string[]>(t.take, 10);
    const send = (v: string[]): Promise<string[]> => (sent.push(v), Promise.resolve(v));
    const first = [b.join('g', 'a', send), b.join('g', 'b', send), b.join('g', 'a', send)];
    await flush();
    const other = b.join('h', 'c', send);
    expect(t.waiting()).toBe(2); // one turn per group
    t.grant();
    expect(await Promise.all(first)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    const later = b.join('g', 'd', send);
    t.grant();
    t.grant();
    expect(await other).toEqual(['c']);
    expect(await later).toEqual(['d']);
    expect(sent).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('opens a new batch when the open one is full; a value already in it still joins it', async () => {
    const t = turns();
    const b = new Batcher<string[]>(t.take, 2);
    const send = (v: string[]): Promise<string[]> => Promise.resolve(v);
    const answers = [b.join('g', 'a', send), b.join('g', 'b', send), b.join('g', 'a', send)];
    const overflow = b.join('g', 'c', send);
    expect(t.waiting()).toBe(2);
    t.grant();
    t.grant();
    expect(await Promise.all([...answers, overflow])).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b'], ['c']]);
  });

  it('rejects every request of a batch whose call failed', async () => {
    const b = new Batcher<string>(() => Promise.resolve(), 10);
    const send = (): Promise<string> => Promise.reject(new Error('throttled'));
    const both = [b.join('g', 'a', send), b.join('g', 'b', send)];
    for (const p of both) await expect(p).rejects.toThrow('throttled');
  });
});
