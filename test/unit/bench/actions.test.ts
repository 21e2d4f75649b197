// The benchmark's cost figure: Temporal Cloud billable Actions counted from a history's events.
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import {
  actionsBetween,
  historyActions,
  noActions,
  totalActions,
  type ActionLedger,
} from '../../../scripts/bench/actions';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const started = (
  attrs: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes = {},
): HistoryEvent => ({
  workflowExecutionStartedEventAttributes: attrs,
});
const upsert = (keys: string[]): HistoryEvent => ({
  upsertWorkflowSearchAttributesEventAttributes: {
    searchAttributes: { indexedFields: Object.fromEntries(keys.map((k) => [k, {}])) },
  },
});
type EventId = NonNullable<
  temporal.api.history.v1.IMarkerRecordedEventAttributes['workflowTaskCompletedEventId']
>;
// A Long in a fetched history; the count only needs its string form, which a number shares.
const eventId = (n: number): EventId => n as unknown as EventId;
const localActivity = (task: number): HistoryEvent => ({
  markerRecordedEventAttributes: {
    markerName: 'core_local_activity',
    workflowTaskCompletedEventId: eventId(task),
  },
});

describe('historyActions', () => {
  it('counts each billable event by Temporal Cloud’s definition', () => {
    const a = historyActions([
      started(),
      { workflowExecutionUpdateAcceptedEventAttributes: {} },
      { workflowExecutionUpdateCompletedEventAttributes: {} },
      upsert(['ConvergeDeployment']),
      { startChildWorkflowExecutionInitiatedEventAttributes: {} },
      { childWorkflowExecutionStartedEventAttributes: {} },
      { workflowExecutionSignaledEventAttributes: {} },
      { timerStartedEventAttributes: {} },
      { activityTaskScheduledEventAttributes: {} },
      { activityTaskStartedEventAttributes: { attempt: 1 } },
      { activityTaskCompletedEventAttributes: {} },
      { activityTaskScheduledEventAttributes: {} },
      { activityTaskStartedEventAttributes: { attempt: 3 } },
      { workflowTaskCompletedEventAttributes: {} },
    ]);
    expect(a).toEqual({
      ...noActions(),
      workflow_started: 1,
      update: 1,
      search_attributes: 1,
      child_workflow: 2,
      signal: 1,
      timer: 1,
      activity: 2,
      activity_retry: 2,
    });
    expect(totalActions(a)).toBe(11);
  });

  it('bills a child’s start to its parent, a continue-as-new run as a start, and a version marker nothing', () => {
    const child = historyActions([started({ parentWorkflowExecution: { workflowId: 'deployment/web' } })]);
    expect(totalActions(child)).toBe(0);
    const continued = historyActions([
      started({ continuedExecutionRunId: 'r1' }),
      upsert(['TemporalChangeVersion']),
    ]);
    expect(continued).toEqual({ ...noActions(), continue_as_new: 1 });
    const childContinued = historyActions([
      started({ parentWorkflowExecution: { workflowId: 'deployment/web' }, continuedExecutionRunId: 'r1' }),
    ]);
    expect(childContinued).toEqual({ ...noActions(), continue_as_new: 1 });
  });

  it('counts a workflow task’s local activities as one Action', () => {
    const a = historyActions([localActivity(4), localActivity(4), localActivity(4), localActivity(9)]);
    expect(a.local_activities).toBe(2);
  });
});

describe('actionsBetween', () => {
  it('counts what runs added since the first ledger, and new runs whole', () => {
    const at = (activity: number, closed = false) => ({ actions: { ...noActions(), activity }, closed });
    const before: ActionLedger = new Map([
      ['deployment/web/r1', at(3, true)],
      ['deployment/web/r2', at(5)],
    ]);
    const after: ActionLedger = new Map([
      ['deployment/web/r1', at(3, true)],
      ['deployment/web/r2', at(9, true)],
      ['deployment/web/op/2/r3', at(40, true)],
    ]);
    expect(actionsBetween(before, after).activity).toBe(44);
  });
});
