// The deployment's event log: operations and state changes, newest last, bounded. It lives in the
// entity's state, so it survives continue-as-new and worker restarts. What listeners (callbacks) have
// been told is a cursor in the same state, so an event appended just before a continue-as-new or while
// nobody forwards is told later, never lost.
import type { ConvergeEvent } from '../domain/events';
import type { EventContext } from '../planner';
import type { DeploymentState, EventLogView } from './types';

/** Events kept; older ones are dropped (and counted) so the entity's state stays small. */
export const EVENT_LOG_LIMIT = 500;

export class EventLog {
  /** Bumped by `restart`: a hand-over begun before it must not move the new log's cursor. */
  private epoch = 0;

  constructor(private readonly state: DeploymentState) {
    // A state carried from a run without the cursor: what it logged then is not told again.
    this.state.toldSeq ??= this.state.eventSeq ?? 0;
  }

  /** Where the next batch starts: its first sequence number and the id salt (the incarnation). */
  context(at: string): EventContext {
    return {
      deployment: this.state.name,
      at,
      firstSeq: (this.state.eventSeq ?? 0) + 1,
      salt: this.state.incarnation ?? '',
    };
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
  }

  /** How many events were appended since listeners were last told (cheap: workflow conditions ask often). */
  get waiting(): number {
    return (this.state.eventSeq ?? 0) - (this.state.toldSeq ?? 0);
  }

  /**
   * Events appended since listeners were last told, oldest first, and the sequence number they go up
   * to. Those dropped from the log meanwhile are gone; `told(upTo)` counts them as told too.
   */
  untold(): { events: ConvergeEvent[]; upTo: number; epoch: number } {
    const log = this.state.events ?? [];
    return {
      events: log.slice(log.length - Math.min(this.waiting, log.length)),
      upTo: this.state.eventSeq ?? 0,
      epoch: this.epoch,
    };
  }

  /** The events up to `upTo` (from `untold()`) were handed to the listeners. */
  told(upTo: number, epoch = this.epoch): void {
    if (epoch === this.epoch) this.state.toldSeq = upTo;
  }

  /** An empty log for the deployment's next incarnation (its events start at 1 again). */
  restart(): void {
    this.state.events = [];
    this.state.eventSeq = 0;
    this.state.toldSeq = 0;
    this.state.eventsDropped = 0;
    this.epoch++;
  }

  view(): EventLogView {
    return { events: this.state.events ?? [], dropped: this.state.eventsDropped ?? 0 };
  }
}
