// The ordered log of every state change, so tests can prove what happened before what.
import type { Statement } from 'better-sqlite3';
import type { Tags } from '../domain/cloud';
import type { RegionEvent } from '../cloud/port';
import type { Db } from './db';
import type { Page } from './tagged';

interface EventRow {
  seq: number;
  type: string;
  at: string;
  subject: string;
  tags: string;
  data: string;
}

export class EventLog {
  readonly #insert: Statement<[string, string, string, string, string]>;
  readonly #page: Statement<[number, number], EventRow>;

  constructor(db: Db) {
    this.#insert = db.prepare('INSERT INTO events (type, at, subject, tags, data) VALUES (?, ?, ?, ?, ?)');
    this.#page = db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
  }

  /** Call inside the transaction that makes the change, so the log and the state never disagree. */
  record(type: string, subject: string, tags: Tags, data: Record<string, unknown> = {}): void {
    this.#insert.run(type, new Date().toISOString(), subject, JSON.stringify(tags), JSON.stringify(data));
  }

  page(since: number, limit: number): Page<RegionEvent> {
    const rows = this.#page.all(since, limit + 1);
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toEvent);
    const last = items[items.length - 1];
    return { items, next: more && last ? String(last.seq) : null };
  }
}

function toEvent(row: EventRow): RegionEvent {
  return {
    seq: row.seq,
    type: row.type,
    at: row.at,
    subject: row.subject,
    tags: JSON.parse(row.tags) as Tags,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
