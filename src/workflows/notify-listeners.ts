// How the entity and the watch hand events to a deployment's callback outbox without waiting for
// delivery: a signal to `callbacks/<deployment>`, starting the outbox first when it is not running.
//
// Why a child workflow (ParentClosePolicy ABANDON, deterministic id) rather than signal-with-start
// from an activity: it needs no client in the activities and costs the caller one signal command (two
// history events) when the outbox runs, which is the common case; ABANDON keeps the outbox running
// when the caller continues as new, completes or is terminated. The outbox closes itself when idle.
import { getExternalWorkflowHandle, log, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { callbacksWorkflowId, type CallbackBatch, type CallbackTarget } from '../domain/callbacks';
import type { ConvergeEvent } from '../domain/events';
import { callbackOutbox } from './callbacks';
import { callbackEventsSignal } from './messages';

/**
 * Hands `events` to the deployment's outbox, with the callbacks of its current manifest (the outbox
 * takes them as its configuration: a callback that left the manifest stops receiving). Resolves once
 * the outbox has them, never waits for a delivery, and never throws: callbacks must not fail a deploy.
 * Await it before continuing as new or completing, so the hand-over is not cut off.
 */
export async function notifyListeners(
  deployment: string,
  callbacks: readonly CallbackTarget[] | undefined,
  events: readonly ConvergeEvent[],
): Promise<void> {
  const targets = (callbacks ?? []).map((c) => ({ url: c.url, events: [...c.events] }));
  const wanted = events.filter((e) => targets.some((t) => t.events.includes(e.type)));
  if (wanted.length === 0) return;
  const batch: CallbackBatch = { callbacks: targets, events: wanted };
  const workflowId = callbacksWorkflowId(deployment);
  if (await signalled(workflowId, batch)) return;
  try {
    const child = await startChild(callbackOutbox, {
      workflowId,
      args: [{ deployment, batch }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `callbacks of ${deployment}`,
      staticDetails: `delivers ${deployment}'s events to ${targets.map((t) => t.url).join(', ')}`,
    });
    // Nobody waits for the outbox; its end (or termination by an operator) must not fail the caller.
    child.result().catch(() => undefined);
  } catch (err) {
    // Started meanwhile by the entity or the watch: it is running now, so the signal lands.
    if (err instanceof WorkflowExecutionAlreadyStartedError && (await signalled(workflowId, batch))) return;
    log.warn('callbacks: events not handed to the outbox', {
      deployment,
      events: wanted.length,
      error: String(err),
    });
  }
}

/** False when the outbox is not running (never started, or closed when idle). */
async function signalled(workflowId: string, batch: CallbackBatch): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(callbackEventsSignal, batch);
    return true;
  } catch {
    return false;
  }
}
