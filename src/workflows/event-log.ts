// The deployment's event log: operations and state changes, newest last, bounded. It lives in the
// entity's state, so it survives continue-as-new and worker restarts, and every batch goes through
// `append`, the one place listeners (callbacks) are handed new events.
import type { ConvergeEvent } from '../domain/events';
import type { EventContext } from '../planner';
import type { DeploymentState, EventLogView } from './types';

/** Events kept; older ones are dropped (and counted) so the entity's state stays small. */
export const EVENT_LOG_LIMIT = 500;

export type EventListener = (events: ConvergeEvent[]) => void;

export class EventLog {
  private listener: EventListener | null = null;

  constructor(private readonly state: DeploymentState) {}

  /** Where the next batch starts: its first sequence number and the id salt (the incarnation). */
  context(at: string): EventContext {
    return {
      deployment: this.state.name,
      at,
      firstSeq: (this.state.eventSeq ?? 0) + 1,
      salt: this.state.incarnation ?? '',
    };
  }

  /** Who hears each new batch (the callbacks outbox); set once by the workflow. */
  listen(listener: EventListener): void {
    this.listener = listener;
  }

  append(events: ConvergeEvent[]): void {
    if (events.length === 0) return;
    const log = (this.state.events ??= []);
    log.push(...events);
    this.state.eventSeq = (this.state.eventSeq ?? 0) + events.length;
    const over = log.length - EVENT_LOG_LIMIT;
    if (over > 0) {
      log.splice(0, over);
      this.state.eventsDropped = (this.state.eventsDropped ?? 0) + over;
    }
    this.listener?.(events);
  }

  view(): EventLogView {
    return { events: this.state.events ?? [], dropped: this.state.eventsDropped ?? 0 };
  }
}
