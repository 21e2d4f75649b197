// A deployment's callback outbox as a plain class (the workflow in callbacks.ts only drives it): one
// FIFO queue per callback URL, filled from the batches the entity and the watch hand over, emptied in
// order by one delivery at a time per URL (so each instance's events arrive in order). Bounded: past
// `queueBound` waiting events the oldest waiting ones are dropped, counted, and said in `notes`.
import type { CallbackBatch, CallbackTarget, DeliveryOutcome } from '../domain/callbacks';
import type { EventType, ConvergeEvent } from '../domain/events';

export interface OutboxLimits {
  /** Waiting events per URL (an in-flight batch is not counted). An hour of a busy deployment fits. */
  queueBound: number;
  /** Events per delivery activity (POSTed one after the other). */
  batchSize: number;
  /** Continue as new past this many history events (or when the server suggests it). */
  historyThreshold: number;
  /** Close after this long with nothing queued; the next notifyListeners starts the outbox again. */
  idleMs: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  queueBound: 1_000,
  batchSize: 10,
  historyThreshold: 5_000,
  idleMs: 10 * 60_000,
};

export interface CallbackQueue {
  url: string;
  events: EventType[];
  /** Oldest first; the first `inFlight` are being delivered now. */
  pending: ConvergeEvent[];
  inFlight: number;
  delivered: number;
  /** Refused for good by the receiver (a 3xx or 4xx) and dropped. */
  rejected: number;
  /** Dropped past the bound, or because the callback left the manifest. */
  dropped: number;
  lastDelivered: { id: string; at: string } | null;
  /** Why the current delivery waits (cleared by the next success). */
  lastError: { at: string; message: string; attempt: number | null } | null;
}

/** Something a user should know about the outbox: a drop, a refusal. Newest last, bounded. */
export interface OutboxNote {
  at: string;
  url: string;
  text: string;
  /** Events this note counts (a run of drops is one note). */
  count: number;
}

export interface OutboxState {
  deployment: string;
  queues: CallbackQueue[];
  notes: OutboxNote[];
  /** Ids accepted lately (a batch handed over twice is queued once). */
  recentIds: string[];
}

export interface CallbacksStatus {
  deployment: string;
  callbacks: Array<Omit<CallbackQueue, 'pending'> & { pending: number }>;
  notes: OutboxNote[];
}

const MAX_NOTES = 50;
const MAX_RECENT_IDS = 2_000;

export class Outbox {
  readonly state: OutboxState;

  constructor(
    deployment: string,
    state: OutboxState | undefined,
    readonly limits: OutboxLimits,
  ) {
    this.state = state ?? { deployment, queues: [], notes: [], recentIds: [] };
  }

  /** Takes the batch's callbacks as the current configuration, then queues each new matching event. */
  accept(batch: CallbackBatch, at: string): void {
    this.configure(batch.callbacks, at);
    const recent = new Set(this.state.recentIds);
    for (const event of batch.events) {
      if (recent.has(event.id)) continue;
      recent.add(event.id);
      this.state.recentIds.push(event.id);
      for (const q of this.state.queues) {
        if (!q.events.includes(event.type)) continue;
        q.pending.push(event);
        this.bound(q, at);
      }
    }
    if (this.state.recentIds.length > MAX_RECENT_IDS) {
      this.state.recentIds.splice(0, this.state.recentIds.length - MAX_RECENT_IDS);
    }
  }

  /** URLs with events waiting and nothing in flight: each may start a delivery. */
  startable(): string[] {
    return this.state.queues.filter((q) => q.pending.length > 0 && q.inFlight === 0).map((q) => q.url);
  }

  get empty(): boolean {
    return this.state.queues.every((q) => q.pending.length === 0);
  }

  /** The next batch for `url` (marked in flight), or null when its queue is empty or gone. */
  takeBatch(url: string): ConvergeEvent[] | null {
    const q = this.queue(url);
    if (!q || q.pending.length === 0) return null;
    q.inFlight = Math.min(this.limits.batchSize, q.pending.length);
    return q.pending.slice(0, q.inFlight);
  }

  /** The delivery of `url`'s in-flight batch ended: delivered events and refused ones leave the queue. */
  settled(url: string, outcomes: DeliveryOutcome[], at: string): void {
    const q = this.queue(url);
    if (!q) return;
    for (const o of outcomes) {
      if ('delivered' in o) {
        q.delivered++;
        q.lastDelivered = { id: o.id, at };
      } else {
        q.rejected++;
        this.note(url, at, `event ${o.id} refused by the receiver (${o.rejected}); dropped`, 1);
      }
    }
    q.pending.splice(0, q.inFlight);
    q.inFlight = 0;
    q.lastError = null;
  }

  /** The delivery gave up for now (its retry window closed): the batch waits again at the head. */
  failed(url: string, message: string, at: string): void {
    const q = this.queue(url);
    if (!q) return;
    q.inFlight = 0;
    q.lastError = { at, message, attempt: null };
  }

  /** An attempt failed and Temporal retries it (reported by the activity): why the queue waits. */
  retrying(url: string, message: string, attempt: number, at: string): void {
    const q = this.queue(url);
    if (q) q.lastError = { at, message, attempt };
  }

  status(): CallbacksStatus {
    return {
      deployment: this.state.deployment,
      callbacks: this.state.queues.map((q) => ({ ...q, pending: q.pending.length })),
      notes: this.state.notes,
    };
  }

  /** The state to continue as new with: nothing is in flight by then (the workflow waits for it). */
  carried(): OutboxState {
    for (const q of this.state.queues) q.inFlight = 0;
    return this.state;
  }

  private configure(targets: CallbackTarget[], at: string): void {
    const urls = new Set(targets.map((t) => t.url));
    for (const q of this.state.queues) {
      if (urls.has(q.url)) continue;
      // Left the manifest: what waits is dropped; a delivery in flight finishes.
      const waiting = q.pending.length - q.inFlight;
      if (waiting > 0) {
        q.pending.splice(q.inFlight);
        q.dropped += waiting;
        this.note(q.url, at, 'events dropped: the callback is no longer in the manifest', waiting);
      }
    }
    this.state.queues = this.state.queues.filter((q) => urls.has(q.url) || q.inFlight > 0);
    for (const t of targets) {
      const q = this.queue(t.url);
      if (q) q.events = [...t.events];
      else this.state.queues.push(newQueue(t));
    }
  }

  /** Past the bound, the oldest waiting event goes (the in-flight batch stays). */
  private bound(q: CallbackQueue, at: string): void {
    const over = q.pending.length - q.inFlight - this.limits.queueBound;
    if (over <= 0) return;
    q.pending.splice(q.inFlight, over);
    q.dropped += over;
    this.note(q.url, at, `events dropped: more than ${this.limits.queueBound} waiting (oldest first)`, over);
  }

  private note(url: string, at: string, text: string, count: number): void {
    const last = this.state.notes.at(-1);
    if (last && last.url === url && last.text === text) {
      last.count += count;
      last.at = at;
      return;
    }
    this.state.notes.push({ at, url, text, count });
    if (this.state.notes.length > MAX_NOTES) this.state.notes.splice(0, this.state.notes.length - MAX_NOTES);
  }

  private queue(url: string): CallbackQueue | undefined {
    return this.state.queues.find((q) => q.url === url);
  }
}

function newQueue(t: CallbackTarget): CallbackQueue {
  return {
    url: t.url,
    events: [...t.events],
    pending: [],
    inFlight: 0,
    delivered: 0,
    rejected: 0,
    dropped: 0,
    lastDelivered: null,
    lastError: null,
  };
}

/** One line per note, as `converge status` or the event log may show them. */
export function outboxNoteLines(status: CallbacksStatus): string[] {
  return status.notes.map((n) => `callback ${n.url}: ${n.count > 1 ? `${n.count} ` : ''}${n.text}`);
}
