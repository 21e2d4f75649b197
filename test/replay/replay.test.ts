// Replay-safety (DESIGN §5, Heat's lesson): every history ever recorded (test/replay/histories/, one
// folder per recording, see scripts/record-histories.ts) replays against today's workflow code
// without a nondeterminism error, so running deployments survive a worker upgrade. And the check has
// teeth: a history with one activity or child workflow renamed must fail to replay.
//
// Needs no server: Worker.runReplayHistories feeds the histories to the workflow code in-process.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataConverter } from '../../src/temporal/data-converter';
import { testBundle } from '../support/temporal';
import { HISTORIES_DIR, readHistory, recordings, type CatalogEntry, type Recording } from './catalog';

const all = recordings();
const cases = all.flatMap((recording) =>
  recording.histories.map((entry) => ({
    recording,
    entry,
    name: `${recording.recording}/${entry.file}: ${entry.protects}`,
  })),
);

let bundle: WorkflowBundleOption;
/** One replay worker for the whole suite; results come back in input order. */
const outcomes: (Error | undefined)[] = [];

beforeAll(async () => {
  bundle = await testBundle();
  const started = performance.now();
  const replay = Worker.runReplayHistories(
    { workflowBundle: bundle, dataConverter, replayName: 'replay-suite' },
    cases.map((c) => ({ workflowId: c.entry.workflowId, history: readHistory(c.recording, c.entry) })),
  );
  for await (const result of replay) outcomes.push(result.error);
  const events = cases.reduce((n, c) => n + c.entry.events, 0);
  console.log(
    `[replay] ${cases.length} histories from ${all.length} recordings, ${events} events, ` +
      `replayed in ${Math.round(performance.now() - started)} ms`,
  );
});

describe('the catalog', () => {
  it('holds a recording with every kind of execution the issue names', () => {
    const scenarios = new Set(all.flatMap((r) => r.histories.map((h) => h.scenario)));
    for (const s of [
      'fresh-deploy',
      'hot-swap',
      'delete-create',
      'cancel',
      'hard-stop',
      'delete',
      'continue-as-new',
    ]) {
      expect(scenarios, s).toContain(s);
    }
    expect(cases.some((c) => c.entry.runs > 1)).toBe(true); // a continue-as-new chain
  });

  it('lists every history file in its folder, and every listed file exists', () => {
    for (const r of all) {
      const files = readdirSync(join(HISTORIES_DIR, r.recording)).filter((f) => f !== 'index.json');
      expect(files.sort()).toEqual(r.histories.map((h) => h.file).sort());
    }
  });
});

describe('every recorded history replays on the current workflow code', () => {
  // A missing outcome reads as "no error" below: the count must match before any case can pass.
  it('returns one outcome per history sent', () => {
    expect(outcomes).toHaveLength(cases.length);
  });

  it.each(cases.map((c, i) => ({ ...c, i })))('$name', ({ i, entry }) => {
    const error = outcomes[i];
    expect(error, `${entry.workflowId} (${entry.file}): ${error?.message ?? ''}`).toBeUndefined();
  });
});

describe('a tampered history fails to replay (the check has teeth)', () => {
  function first(predicate: (e: CatalogEntry) => boolean): { recording: Recording; entry: CatalogEntry } {
    for (const recording of all) {
      const entry = recording.histories.find(predicate);
      if (entry) return { recording, entry };
    }
    throw new Error('no such history in the catalog');
  }

  async function replayOne(history: History, workflowId: string): Promise<unknown> {
    try {
      await Worker.runReplayHistory(
        { workflowBundle: bundle, dataConverter, replayName: 'tampered' },
        history,
        workflowId,
      );
      return undefined;
    } catch (err) {
      return err;
    }
  }

  it('an operation whose create activity (createVm or createVms) was renamed in the history', async () => {
    const { recording, entry } = first(
      (e) => e.scenario === 'fresh-deploy' && e.workflowType === 'operation',
    );
    const history = readHistory(recording, entry);
    const scheduled = (history.events ?? []).find((e) =>
      /^createVms?$/.test(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
    )?.activityTaskScheduledEventAttributes;
    if (!scheduled?.activityType) throw new Error(`${entry.file} schedules no create activity`);
    scheduled.activityType.name = 'createServer';

    const error = await replayOne(history, entry.workflowId);
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(String(error)).toMatch(/createServer|createVm/);
  });

  it('an entity whose operation child was started under another workflow type', async () => {
    const { recording, entry } = first(
      (e) => e.scenario === 'fresh-deploy' && e.workflowType === 'deployment',
    );
    const history = readHistory(recording, entry);
    const initiated = (history.events ?? []).find(
      (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
    )?.startChildWorkflowExecutionInitiatedEventAttributes;
    if (!initiated?.workflowType) throw new Error(`${entry.file} starts no child`);
    initiated.workflowType.name = 'operationV2';

    const error = await replayOne(history, entry.workflowId);
    expect(error).toBeInstanceOf(DeterminismViolationError);
  });

  it('the untampered copies of both replay (so the failures above are the tampering)', async () => {
    for (const type of ['operation', 'deployment']) {
      const { recording, entry } = first((e) => e.scenario === 'fresh-deploy' && e.workflowType === type);
      expect(await replayOne(readHistory(recording, entry), entry.workflowId)).toBeUndefined();
    }
  });
});
