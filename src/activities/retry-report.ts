// A step that keeps failing retryably is a wait, and every wait must show why (DESIGN §9.6). Temporal
// retries the activity without the workflow seeing anything until it ends, so the activity itself
// signals its workflow, once per failed attempt from the second on: step kind and key, attempt, since
// when, and the error. The workflow keeps the latest per step for its progress and current details.
// Reporting never changes the outcome: it is bounded in time and its own failures are swallowed.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { STEP_RETRYING_SIGNAL, type StepRetrying } from '../domain/activities';

/** A first failed attempt is often a blip (a 503, a killed worker): report from the second on. */
const REPORT_FROM_ATTEMPT = 2;
/** A signal that takes longer than this is dropped: the next failed attempt reports again. */
const REPORT_TIMEOUT_MS = 2_000;

/** The step an activity input serves: its kind and the key the workflow finds it by. */
export interface StepKey {
  kind: string;
  key: string;
}

/** `fn`, reporting each retryable failure of an attempt past the first to the workflow. */
export function reportingRetries<I, O>(
  stepOf: (input: I) => StepKey,
  fn: (input: I) => Promise<O>,
): (input: I) => Promise<O> {
  return async (input) => {
    try {
      return await fn(input);
    } catch (err) {
      if (willRetry(err)) await report(stepOf(input), err);
      throw err;
    }
  };
}

/** One kind of step, keyed by one field of its input. */
export const step =
  <I>(kind: string, keyOf: (input: I) => string) =>
  (input: I): StepKey => ({ kind, key: keyOf(input) });

function willRetry(err: unknown): boolean {
  if (err instanceof CancelledFailure) return false;
  return !(err instanceof ApplicationFailure && err.nonRetryable);
}

async function report({ kind, key }: StepKey, err: unknown): Promise<void> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // called outside an activity (a script or a bench)
  }
  const { info } = ctx;
  const workflowId = info.workflowExecution?.workflowId;
  if (info.attempt < REPORT_FROM_ATTEMPT || workflowId === undefined || info.isLocal) return;
  const retrying: StepRetrying = {
    kind,
    key,
    attempt: info.attempt,
    since: info.scheduledTimestampMs,
    error: err instanceof Error ? err.message : String(err),
  };
  try {
    const signal = ctx.client.workflow.getHandle(workflowId).signal(STEP_RETRYING_SIGNAL, retrying);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, REPORT_TIMEOUT_MS)));
    await Promise.race([signal.catch(() => undefined), late]).finally(() => clearTimeout(timer));
  } catch {
    // No client (a test's mock environment) or the workflow has closed: nothing to tell.
  }
}
