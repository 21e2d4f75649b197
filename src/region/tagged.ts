// Tagged rows (servers, allocations, volumes): tag writes and "every row carrying all these tags" pages.
// One tag drives an index range scan on (k, v, n); the others are point lookups on (n, k). The driver
// is the tag with the fewest rows, counted up to DRIVER_PROBE each: `deployment=d,instance=i` then
// walks one instance's rows instead of the whole deployment's (one associate per disk unit asks that).
import type { Statement } from 'better-sqlite3';
import type { Tags } from '../domain/cloud';
import type { Db } from './db';

export type Table = 'servers' | 'allocations' | 'volumes';

/** Rows counted per tag when choosing the driver: past this, a tag is "many" and ties keep their order. */
const DRIVER_PROBE = 64;

const TAG_TABLE: Record<Table, string> = {
  servers: 'server_tags',
  allocations: 'allocation_tags',
  volumes: 'volume_tags',
};

/** A row as stored, plus its tags as a JSON object. */
export type TaggedRow<R> = R & { n: number; tags_json: string };

export interface Page<T> {
  items: T[];
  next: string | null;
}

export class TagTable<R> {
  readonly #db: Db;
  readonly #table: Table;
  readonly #tagTable: string;
  readonly #insert: Statement<[number, string, string]>;
  readonly #removeAll: Statement<[number]>;
  readonly #byId: Statement<[string], TaggedRow<R>>;
  readonly #countUpTo: Statement<[string, string, number], { c: number }>;
  readonly #pages = new Map<number, Statement<unknown[], TaggedRow<R>>>();

  constructor(db: Db, table: Table) {
    this.#db = db;
    this.#table = table;
    this.#tagTable = TAG_TABLE[table];
    this.#insert = db.prepare(`INSERT OR REPLACE INTO ${this.#tagTable} (n, k, v) VALUES (?, ?, ?)`);
    this.#removeAll = db.prepare(`DELETE FROM ${this.#tagTable} WHERE n = ?`);
    this.#byId = db.prepare(`SELECT s.*, ${this.#tagsColumn('s')} FROM ${table} s WHERE s.id = ?`);
    this.#countUpTo = db.prepare(
      `SELECT count(*) AS c FROM (SELECT 1 FROM ${this.#tagTable} WHERE k = ? AND v = ? LIMIT ?)`,
    );
  }

  /** Writes (or overwrites) the given tags; other tags stay. */
  merge(n: number, tags: Tags): void {
    for (const [k, v] of Object.entries(tags)) this.#insert.run(n, k, v);
  }

  removeAll(n: number): void {
    this.#removeAll.run(n);
  }

  byId(id: string): TaggedRow<R> | undefined {
    return this.#byId.get(id);
  }

  /** Rows after cursor `after` carrying every tag, oldest first; `next` is set when more may follow. */
  page(tags: Tags, after: number, limit: number): Page<TaggedRow<R>> {
    const pairs = this.#driverFirst(Object.entries(tags));
    const rows = this.#pageStatement(pairs.length).all(...pageParams(pairs, after, limit + 1));
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items[items.length - 1];
    return { items, next: more && last ? String(last.n) : null };
  }

  /**
   * SQLite's plan for `page(tags, …)`, one line per step: lets a test check the tag index drives the
   * scan (cost follows the matches, not the table) without timing anything.
   */
  queryPlan(tags: Tags): string[] {
    const pairs = this.#driverFirst(Object.entries(tags));
    const sql = this.#pageStatement(pairs.length).source;
    return this.#db
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...pageParams(pairs, 0, 1))
      .map((row) => row.detail);
  }

  /** The pairs with the most selective one first (a stable sort: ties keep the caller's order). */
  #driverFirst(pairs: [string, string][]): [string, string][] {
    if (pairs.length < 2) return pairs;
    return pairs
      .map((pair) => ({ pair, rows: this.#countUpTo.get(pair[0], pair[1], DRIVER_PROBE)?.c ?? 0 }))
      .sort((a, b) => a.rows - b.rows)
      .map((x) => x.pair);
  }

  #tagsColumn(alias: string): string {
    return `(SELECT json_group_object(t.k, t.v) FROM ${this.#tagTable} t WHERE t.n = ${alias}.n) AS tags_json`;
  }

  #pageStatement(count: number): Statement<unknown[], TaggedRow<R>> {
    let stmt = this.#pages.get(count);
    if (stmt) return stmt;
    const t = this.#table;
    const tt = this.#tagTable;
    let sql: string;
    if (count === 0) {
      sql = `SELECT s.*, ${this.#tagsColumn('s')} FROM ${t} s WHERE s.n > ? ORDER BY s.n LIMIT ?`;
    } else {
      const rest = Array.from(
        { length: count - 1 },
        (_, i) =>
          `AND EXISTS (SELECT 1 FROM ${tt} t${i + 1} WHERE t${i + 1}.n = t0.n AND t${i + 1}.k = ? AND t${i + 1}.v = ?)`,
      ).join(' ');
      // CROSS JOIN keeps the tag index as the outer loop, so cost follows the matches, not the table size.
      sql =
        `SELECT s.*, ${this.#tagsColumn('s')} FROM ${tt} t0 CROSS JOIN ${t} s ON s.n = t0.n ` +
        `WHERE t0.k = ? AND t0.v = ? AND t0.n > ? ${rest} ORDER BY t0.n LIMIT ?`;
    }
    stmt = this.#db.prepare<unknown[], TaggedRow<R>>(sql);
    this.#pages.set(count, stmt);
    return stmt;
  }
}

function pageParams(pairs: [string, string][], after: number, limit: number): unknown[] {
  if (pairs.length === 0) return [after, limit];
  const [first, ...rest] = pairs;
  return [...(first ?? []), after, ...rest.flat(), limit];
}

export function parseTags(json: string | null): Tags {
  if (!json) return {};
  return JSON.parse(json) as Tags;
}
