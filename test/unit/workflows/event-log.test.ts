// The entity's event log and its cursor of what listeners (the callbacks outbox) have been told.
import { describe, expect, it } from 'vitest';
import type { ConvergeEvent } from '../../../src/domain/events';
import { EVENT_LOG_LIMIT, EventLog } from '../../../src/workflows/event-log';
import type { DeploymentState } from '../../../src/workflows/types';

const state = (): DeploymentState => ({ name: 'web' }) as DeploymentState;
const events = (from: number, n: number): ConvergeEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `e${from + i}`,
    type: 'instance.running',
    deployment: 'web',
    instance: 'api/0',
    old: null,
    new: 'running',
    at: '2026-12-05T00:00:00.000Z',
  }));

describe('EventLog', () => {
  it('tells each event once, in order, across appends made while a hand-over is under way', () => {
    const log = new EventLog(state());
    log.append(events(1, 3));
    const first = log.untold();
    log.append(events(4, 2)); // appended while the first batch is being handed over
    log.told(first.upTo);
    expect(first.events.map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    expect(log.waiting).toBe(2);
    const second = log.untold();
    expect(second.events.map((e) => e.id)).toEqual(['e4', 'e5']);
    log.told(second.upTo);
    expect(log.waiting).toBe(0);
  });

  it('past the bound, the dropped are gone, and what is told is never told again', () => {
    const log = new EventLog(state());
    log.append(events(1, EVENT_LOG_LIMIT + 100));
    expect(log.waiting).toBe(EVENT_LOG_LIMIT + 100);
    const { events: kept, upTo } = log.untold();
    expect(kept).toHaveLength(EVENT_LOG_LIMIT);
    expect(kept[0]?.id).toBe('e101');
    log.told(upTo);
    expect(log.waiting).toBe(0);
    expect(log.view().dropped).toBe(100);
  });

  it('a state carried from before the cursor existed does not tell its old events again', () => {
    const carried = { ...state(), events: events(1, 4), eventSeq: 4 } as DeploymentState;
    expect(new EventLog(carried).waiting).toBe(0);
  });

  it('a restart (the next incarnation) starts the log over; a hand-over begun before it moves no cursor', () => {
    const log = new EventLog(state());
    log.append(events(1, 4));
    const old = log.untold();
    log.restart();
    log.append(events(100, 1));
    log.told(old.upTo, old.epoch); // the old batch's hand-over ends after the restart
    expect(log.view()).toEqual({ events: events(100, 1), dropped: 0 });
    expect(log.waiting).toBe(1);
    const next = log.untold();
    expect(next.events.map((e) => e.id)).toEqual(['e100']);
    log.told(next.upTo, next.epoch);
    expect(log.waiting).toBe(0);
  });
});
