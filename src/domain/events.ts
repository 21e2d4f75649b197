// The events Converge tells about a deployment: state changes the watch derives from two projections,
// and what operations do. One shape for the event log (`converge events`), status and callbacks.

export const EVENT_TYPES = [
  'instance.created',
  'instance.running',
  'instance.stopped',
  'instance.unhealthy',
  'instance.error',
  'instance.missing',
  'instance.ip_changed',
  'instance.replaced',
  'instance.deleted',
  'operation.started',
  'operation.finished',
  'operation.failed',
  'operation.cancelled',
  // The resurrector stands still: more instances unhealthy at once than update.max_unhealthy allows.
  'deployment.meltdown',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ConvergeEvent {
  /** Stable across redeliveries and replays (receivers dedupe on it); derived, never random. */
  id: string;
  type: EventType;
  deployment: string;
  /** `group/index` for instance events; null for operation and deployment events. */
  instance: string | null;
  /** The state before and after (instance state, IP list, or operation status), as text. */
  old: string | null;
  new: string | null;
  /** ISO-8601 time the change was seen (workflow time, so replays give the same value). */
  at: string;
  /** For operation events: the operation id, kind and who asked; for others a short human reason. */
  detail?: string;
}
