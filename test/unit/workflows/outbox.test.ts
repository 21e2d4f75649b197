import { describe, expect, it } from 'vitest';
import type { CallbackTarget } from '../../../src/domain/callbacks';
import type { ConvergeEvent, EventType } from '../../../src/domain/events';
import { DEFAULT_OUTBOX_LIMITS, Outbox, outboxNoteLines } from '../../../src/workflows/outbox';

const AT = '2026-12-05T12:00:00.000Z';
const A = 'http://127.0.0.1:1/a';
const B = 'http://127.0.0.1:1/b';
const ev = (n: number, type: EventType = 'instance.running', instance = 'api/0'): ConvergeEvent => ({
  id: `e${n}`,
  type,
  deployment: 'web',
  instance,
  old: null,
  new: 'running',
  at: AT,
});
const targets: CallbackTarget[] = [
  { url: A, events: ['instance.running'] },
  { url: B, events: ['instance.missing', 'instance.running'] },
];
const outbox = (queueBound = 1000, batchSize = 10) =>
  new Outbox('web', undefined, { ...DEFAULT_OUTBOX_LIMITS, queueBound, batchSize });
const pending = (o: Outbox, url: string) =>
  o.state.queues.find((q) => q.url === url)?.pending.map((e) => e.id);

describe('callback outbox', () => {
  it('queues each event for the callbacks whose types match, once per id, in arrival order', () => {
    const o = outbox();
    o.accept({ callbacks: targets, events: [ev(1), ev(2, 'instance.missing'), ev(3)] }, AT);
    o.accept({ callbacks: targets, events: [ev(3), ev(4)] }, AT); // e3 handed over twice
    expect(pending(o, A)).toEqual(['e1', 'e3', 'e4']);
    expect(pending(o, B)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(o.startable()).toEqual([A, B]);
  });

  it('delivers in batches: one in flight per URL; refused events are counted, noted and dropped', () => {
    const o = outbox(1000, 2);
    o.accept({ callbacks: targets, events: [ev(1), ev(2), ev(3)] }, AT);
    expect(o.takeBatch(A)?.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(o.startable()).toEqual([B]);
    o.settled(
      A,
      [
        { id: 'e1', delivered: true },
        { id: 'e2', rejected: 'HTTP 410' },
      ],
      AT,
    );
    expect(pending(o, A)).toEqual(['e3']);
    expect(o.status().callbacks[0]).toMatchObject({ delivered: 1, rejected: 1, pending: 1, inFlight: 0 });
    expect(outboxNoteLines(o.status())).toEqual([
      `callback ${A}: event e2 refused by the receiver (HTTP 410); dropped`,
    ]);
  });

  it('a failed delivery puts its batch back at the head, in order, with the reason', () => {
    const o = outbox(1000, 2);
    o.accept({ callbacks: targets, events: [ev(1), ev(2), ev(3)] }, AT);
    o.takeBatch(A);
    o.failed(A, 'POST http://127.0.0.1:1/a: ECONNREFUSED', AT);
    expect(pending(o, A)).toEqual(['e1', 'e2', 'e3']);
    expect(o.status().callbacks[0]?.lastError?.message).toContain('ECONNREFUSED');
    expect(o.takeBatch(A)?.map((e) => e.id)).toEqual(['e1', 'e2']);
  });

  it('past the bound drops the oldest waiting events (never the batch in flight), counted in one note', () => {
    const o = outbox(3, 2);
    o.accept({ callbacks: [targets[0]!], events: [ev(1), ev(2)] }, AT);
    o.takeBatch(A); // e1, e2 in flight
    o.accept({ callbacks: [targets[0]!], events: [3, 4, 5, 6, 7].map((n) => ev(n)) }, AT);
    expect(pending(o, A)).toEqual(['e1', 'e2', 'e5', 'e6', 'e7']);
    expect(o.status().callbacks[0]?.dropped).toBe(2);
    expect(outboxNoteLines(o.status())).toEqual([
      `callback ${A}: 2 events dropped: more than 3 waiting (oldest first)`,
    ]);
  });

  it('a callback that leaves the manifest loses what waits, keeps its delivery in flight, then goes', () => {
    const o = outbox(1000, 1);
    o.accept({ callbacks: targets, events: [ev(1), ev(2)] }, AT);
    o.takeBatch(A);
    o.accept({ callbacks: [targets[1]!], events: [] }, AT);
    expect(pending(o, A)).toEqual(['e1']);
    expect(o.status().callbacks.find((q) => q.url === A)?.dropped).toBe(1);
    o.settled(A, [{ id: 'e1', delivered: true }], AT);
    o.accept({ callbacks: [targets[1]!], events: [] }, AT);
    expect(o.state.queues.map((q) => q.url)).toEqual([B]);
  });
});
