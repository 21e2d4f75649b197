// Workflow interceptors for the traced bundle only (after the SDK's OpenTelemetry ones): one trace per
// operation. The entity starts an operation's child workflow from its main loop, where the active
// span is the entity's own run, so every operation after the first would join the trace of the
// update that created the entity. Here the child is started with the trace context of the update
// that asked for it instead. Headers are not part of a workflow's commands: replay is unaffected.
import type { Payload, WorkflowInterceptorsFactory } from '@temporalio/workflow';
import {
  deleteUpdate,
  deployUpdate,
  instanceActionUpdate,
  recreateUpdate,
  startUpdate,
  stopUpdate,
} from './messages';

/** The header the SDK's OpenTelemetry interceptors carry the span context in. */
const TRACE_HEADER = '_tracer-data';

const OPERATION_UPDATES = new Set(
  [deployUpdate, stopUpdate, startUpdate, recreateUpdate, deleteUpdate, instanceActionUpdate].map(
    (u) => u.name,
  ),
);

/** The trace context of the last accepted-looking operation update (an entity runs one at a time). */
let requestedBy: Payload | undefined;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      handleUpdate(input, next) {
        const context = input.headers[TRACE_HEADER];
        if (context !== undefined && OPERATION_UPDATES.has(input.name)) requestedBy = context;
        return next(input);
      },
    },
  ],
  outbound: [
    {
      startChildWorkflowExecution(input, next) {
        if (requestedBy === undefined || input.workflowType !== 'operation') return next(input);
        const headers = { ...input.headers, [TRACE_HEADER]: requestedBy };
        requestedBy = undefined;
        return next({ ...input, headers });
      },
    },
  ],
});
