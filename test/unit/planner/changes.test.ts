// State changes between two projections, and the resurrector's decisions: tables of worked examples,
// each changing one thing of a baseline, asserting the exact events and reason strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conditionOf,
  resolveMaxUnhealthy,
  resurrectionDecision,
  stateChanges,
  trackTrouble,
  type Trouble,
  type WatchedRow,
} from '../../../src/planner/index';

const CTX = { deployment: 'web', at: '2026-12-05T03:00:00.000Z', firstSeq: 1, salt: 'inc-1' };

function row(index: number, change: Partial<WatchedRow> = {}): WatchedRow {
  return {
    instance: `api/uuid-${index}`,
    group: 'api',
    index,
    state: 'started',
    vm: `srv-${index}`,
    vm_state: 'ACTIVE',
    ips: [`10.0.0.${10 + index}`],
    power: 'running',
    health: 'healthy',
    ...change,
  };
}

const brief = (rows: WatchedRow[], next: WatchedRow[]) =>
  stateChanges(rows, next, CTX).map((e) => `${e.type} ${e.instance} ${e.old} → ${e.new}`);

describe('conditionOf: one word per row, in a fixed order of precedence', () => {
  it.each([
    ['an ACTIVE, running, healthy VM is running', {}, 'running'],
    ['no VM is missing', { vm: null, vm_state: null, ips: [], power: null }, 'missing'],
    [
      'a detached instance without a VM is detached, not missing',
      { state: 'detached', vm: null },
      'detached',
    ],
    ['ERROR wins over power', { vm_state: 'ERROR', power: 'running' }, 'error'],
    ['powered off is stopped', { power: 'stopped' }, 'stopped'],
    ['SHUTOFF is stopped', { vm_state: 'SHUTOFF' }, 'stopped'],
    ['a BUILD is pending (an operation is at work)', { vm_state: 'BUILD' }, 'pending'],
    ['reported unhealthy is unhealthy', { health: 'unhealthy' }, 'unhealthy'],
    ['unknown health is still running', { health: 'unknown' }, 'running'],
  ] as const)('%s', (_, change, expected) => {
    expect(conditionOf(row(0, change))).toBe(expected);
  });
});

describe('stateChanges: the events between two projections', () => {
  const base = [row(0), row(1), row(2)];
  it.each([
    ['equal projections say nothing', base, []],
    [
      'a server deleted out of band is instance.missing',
      [row(0), row(1, { vm: null, vm_state: null, ips: [], power: null, health: null }), row(2)],
      ['instance.missing api/1 running → missing'],
    ],
    [
      'a VM in ERROR is instance.error',
      [row(0), row(1), row(2, { vm_state: 'ERROR' })],
      ['instance.error api/2 running → error'],
    ],
    [
      'a VM powered off is instance.stopped',
      [row(0, { power: 'stopped' }), row(1), row(2)],
      ['instance.stopped api/0 running → stopped'],
    ],
    [
      'a VM reported unhealthy is instance.unhealthy',
      [row(0, { health: 'unhealthy' }), row(1), row(2)],
      ['instance.unhealthy api/0 running → unhealthy'],
    ],
    [
      'a new address is instance.ip_changed',
      [row(0, { ips: ['10.0.0.99'] }), row(1), row(2)],
      ['instance.ip_changed api/0 10.0.0.10 → 10.0.0.99'],
    ],
    [
      'an instance gone from the projection is instance.deleted',
      [row(0), row(1)],
      ['instance.deleted api/2 running → null'],
    ],
    [
      'a new instance is created, then its condition',
      [...base, row(3)],
      ['instance.created api/3 null → running', 'instance.running api/3 null → running'],
    ],
    [
      'a new VM for the same instance is replaced (and its new address)',
      [row(0, { vm: 'srv-9', ips: ['10.0.0.40'] }), row(1), row(2)],
      ['instance.replaced api/0 srv-0 → srv-9', 'instance.ip_changed api/0 10.0.0.10 → 10.0.0.40'],
    ],
    [
      'a hard stop (detached, no VM) is a stop, not a missing VM',
      [row(0, { state: 'detached', vm: null, vm_state: null, ips: [], power: null }), row(1), row(2)],
      ['instance.stopped api/0 running → detached'],
    ],
    ['a BUILD says nothing (an operation is at work)', [row(0, { vm_state: 'BUILD' }), row(1), row(2)], []],
  ] as const)('%s', (_, next, expected) => {
    expect(brief(base, [...next])).toEqual(expected);
  });

  it('runs both ways: the missing VM coming back is instance.running', () => {
    const missing = [row(0, { vm: null, vm_state: null, ips: [], power: null })];
    expect(brief([row(0)], missing)).toEqual(['instance.missing api/0 running → missing']);
    expect(brief(missing, [row(0)])).toEqual(['instance.running api/0 missing → running']);
  });

  it('numbers events from firstSeq, with ids derived from deployment, salt and sequence', () => {
    const next = [row(0, { health: 'unhealthy' }), row(1, { vm_state: 'ERROR' }), row(2)];
    const events = stateChanges(base, next, CTX);
    expect(events.map((e) => e.type)).toEqual(['instance.unhealthy', 'instance.error']);
    expect(stateChanges(base, next, CTX)).toEqual(events);
    const later = stateChanges(base, next, { ...CTX, firstSeq: 7 });
    expect(later.map((e) => e.id)).not.toContain(events[0]?.id);
    const other = stateChanges(base, next, { ...CTX, salt: 'inc-2' });
    expect(other[0]?.id).not.toBe(events[0]?.id);
    expect(events[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(events[0]).toMatchObject({ deployment: 'web', at: CTX.at, instance: 'api/0' });
  });
});

const NOW = Date.parse('2026-12-05T03:10:00.000Z');
const since = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();
const gone = (index: number) => row(index, { vm: null, vm_state: null, ips: [], power: null, health: null });
const ten = () => Array.from({ length: 10 }, (_, i) => row(i));

function trouble(entries: Array<[number, number, 'missing' | 'error']>): Record<string, Trouble> {
  return Object.fromEntries(
    entries.map(([index, ago, condition]) => [
      `api/uuid-${index}`,
      { condition, since: since(ago), vm: `srv-${index}` },
    ]),
  );
}

describe('resolveMaxUnhealthy: a count, or a percentage rounded up', () => {
  it.each([
    ['20% of 10 is 2', '20%', 10, 2],
    ['20% of 1 is 1 (a one-VM deployment heals)', '20%', 1, 1],
    ['20% of 5 is 1', '20%', 5, 1],
    ['50% of 3 is 2 (1.5 rounds up)', '50%', 3, 2],
    ['0% is 0: any trouble is a meltdown', '0%', 4, 0],
    ['a count is taken as written', 3, 2, 3],
    ['unset is the default, 20%', undefined, 10, 2],
  ] as const)('%s', (_, value, instances, expected) => {
    expect(resolveMaxUnhealthy(value, instances)).toBe(expected);
  });
});

describe('resurrectionDecision', () => {
  const decide = (
    rows: WatchedRow[],
    t: Record<string, Trouble>,
    change: Partial<Parameters<typeof resurrectionDecision>[0]> = {},
  ) =>
    resurrectionDecision({
      rows,
      trouble: t,
      now: NOW,
      graceSeconds: 60,
      maxUnhealthy: '20%',
      resurrected: [],
      ...change,
    });

  it('nothing in trouble: none', () => {
    expect(decide(ten(), {})).toEqual({ verdict: 'none' });
  });

  it('a VM missing past the grace period is resurrected, with the reason', () => {
    const rows = ten().map((r, i) => (i === 1 ? gone(1) : r));
    expect(decide(rows, trouble([[1, 90, 'missing']]))).toEqual({
      verdict: 'resurrect',
      instances: [
        {
          instance: 'api/uuid-1',
          key: 'api/uuid-1@srv-1',
          reason: `resurrect: VM missing since ${since(90)}`,
        },
      ],
      reason: `resurrect: VM missing since ${since(90)}`,
      wait: null,
    });
  });

  it('a VM in ERROR names the VM', () => {
    const rows = ten().map((r, i) => (i === 2 ? row(2, { vm_state: 'ERROR' }) : r));
    const d = decide(rows, trouble([[2, 61, 'error']]));
    expect(d.verdict === 'resurrect' && d.reason).toBe(`resurrect: VM srv-2 in ERROR since ${since(61)}`);
  });

  it('trouble younger than the grace period waits until it is due', () => {
    const rows = ten().map((r, i) => (i === 1 ? gone(1) : r));
    expect(decide(rows, trouble([[1, 20, 'missing']]))).toEqual({ verdict: 'wait', at: NOW + 40_000 });
  });

  it('never twice for the same VM', () => {
    const rows = ten().map((r, i) => (i === 1 ? gone(1) : r));
    expect(decide(rows, trouble([[1, 90, 'missing']]), { resurrected: ['api/uuid-1@srv-1'] })).toEqual({
      verdict: 'none',
    });
  });

  it('3 of 10 missing with max_unhealthy 20% is a meltdown, whatever the grace period', () => {
    const rows = ten().map((r, i) => (i < 3 ? gone(i) : r));
    const t = trouble([
      [0, 5, 'missing'],
      [1, 5, 'missing'],
      [2, 5, 'missing'],
    ]);
    expect(decide(rows, t)).toEqual({
      verdict: 'meltdown',
      unhealthy: 3,
      total: 10,
      message: 'meltdown: 3 of 10 unhealthy, not resurrecting',
    });
  });

  it('2 of 10 with max_unhealthy 20% is healed', () => {
    const rows = ten().map((r, i) => (i < 2 ? gone(i) : r));
    const d = decide(
      rows,
      trouble([
        [0, 90, 'missing'],
        [1, 90, 'missing'],
      ]),
    );
    expect(d.verdict === 'resurrect' && d.instances.map((x) => x.instance)).toEqual([
      'api/uuid-0',
      'api/uuid-1',
    ]);
  });

  it('a count max_unhealthy: 3 of 10 down with max_unhealthy 3 is healed', () => {
    const rows = ten().map((r, i) => (i < 3 ? gone(i) : r));
    const t = trouble([
      [0, 90, 'missing'],
      [1, 90, 'missing'],
      [2, 90, 'missing'],
    ]);
    expect(decide(rows, t, { maxUnhealthy: 3 }).verdict).toBe('resurrect');
  });

  it('detached instances count neither as down nor in the total', () => {
    const rows = [
      row(0, { state: 'detached', vm: null }),
      row(1, { state: 'detached', vm: null }),
      gone(2),
      row(3),
    ];
    const d = decide(rows, trouble([[2, 90, 'missing']]), { maxUnhealthy: '50%' });
    expect(d.verdict).toBe('resurrect');
  });
});

describe('trackTrouble', () => {
  const before = [row(0), row(1)];
  it('starts the clock when a VM goes missing, naming the VM it had', () => {
    expect(trackTrouble({}, before, [gone(0), row(1)], since(0))).toEqual({
      'api/uuid-0': { condition: 'missing', since: since(0), vm: 'srv-0' },
    });
  });
  it('keeps the first since-time while the trouble lasts', () => {
    const t = trouble([[0, 100, 'missing']]);
    expect(trackTrouble(t, [gone(0), row(1)], [gone(0), row(1)], since(0))).toEqual(t);
  });
  it('forgets recovered, stopped and detached instances', () => {
    const t = trouble([
      [0, 100, 'missing'],
      [1, 100, 'missing'],
    ]);
    const rows = [row(0), row(1, { state: 'stopped', vm: null })];
    expect(trackTrouble(t, before, rows, since(0))).toEqual({});
  });
});

describe('laws', () => {
  const arbRow = fc.record({
    index: fc.integer({ min: 0, max: 5 }),
    state: fc.constantFrom('started', 'stopped', 'detached'),
    vm: fc.constantFrom(null, 'srv-a', 'srv-b'),
    vm_state: fc.constantFrom(null, 'ACTIVE', 'ERROR', 'BUILD', 'SHUTOFF'),
    ips: fc.constantFrom([], ['10.0.0.1'], ['10.0.0.2']),
    power: fc.constantFrom(null, 'running', 'stopped'),
    health: fc.constantFrom(null, 'healthy', 'unhealthy'),
  });
  const arbProjection = fc
    .uniqueArray(arbRow, { selector: (r) => r.index, maxLength: 6 })
    .map((rs) => rs.map((r) => row(r.index, r)));

  it('a projection compared with itself says nothing; any change is deterministic with distinct ids', () => {
    fc.assert(
      fc.property(arbProjection, arbProjection, (a, b) => {
        expect(stateChanges(a, a, CTX)).toEqual([]);
        const once = stateChanges(a, b, CTX);
        expect(stateChanges(a, b, CTX)).toEqual(once);
        expect(new Set(once.map((e) => e.id)).size).toBe(once.length);
      }),
    );
  });

  it('the resurrector never replaces more than max_unhealthy, nor a detached or stopped instance', () => {
    fc.assert(
      fc.property(arbProjection, fc.integer({ min: 0, max: 100 }), (rows, percent) => {
        const t = trackTrouble({}, [], rows, since(600));
        const d = resurrectionDecision({
          rows,
          trouble: t,
          now: NOW,
          graceSeconds: 60,
          maxUnhealthy: `${percent}%`,
          resurrected: [],
        });
        if (d.verdict !== 'resurrect') return;
        const total = rows.filter((r) => r.state !== 'detached').length;
        expect(d.instances.length).toBeLessThanOrEqual(resolveMaxUnhealthy(`${percent}%`, total));
        for (const i of d.instances)
          expect(rows.find((r) => r.instance === i.instance)?.state).toBe('started');
      }),
    );
  });
});
