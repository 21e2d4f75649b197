// Storage pools and volumes: the parts of oVirt's attach-or-create (the algorithm lives in the activity).
// Volumes are persistent: deleting a server detaches its volumes, it never deletes them.
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { ServerState, Tags, Volume } from '../domain/cloud';
import type { StoragePool } from '../cloud/port';
import type { RegionConfig } from './config';
import type { Db } from './db';
import { ApiError, invalidState, notFound } from './errors';
import type { EventLog } from './events';
import type { CreateVolumeBody } from './schemas';
import { TagTable, parseTags, type Page, type TaggedRow } from './tagged';

interface VolumeRow {
  n: number;
  id: string;
  pool: string;
  size_gb: number;
  server_id: string | null;
  created_at: string;
}

type Row = TaggedRow<VolumeRow>;

/** Looks up a server's state (undefined when it does not exist). */
export type ServerStateLookup = (id: string) => ServerState | undefined;

const ATTACHABLE: readonly ServerState[] = ['ACTIVE', 'SHUTOFF'];

export class Volumes {
  readonly tags: TagTable<VolumeRow>;
  readonly #db: Db;
  readonly #pools: RegionConfig['storage_pools'];
  readonly #events: EventLog;
  readonly #serverState: ServerStateLookup;
  readonly #keyLookup: Statement<[string], { id: string }>;
  readonly #insertKey: Statement<[string, string]>;
  readonly #insert: Statement<unknown[], unknown>;
  readonly #setServer: Statement<[string | null, number]>;
  readonly #remove: Statement<[number]>;
  readonly #used: Statement<[string], { used: number }>;
  readonly #attachedTo: Statement<[string], Row>;

  constructor(db: Db, config: RegionConfig, events: EventLog, serverState: ServerStateLookup) {
    this.#db = db;
    this.#pools = config.storage_pools;
    this.#events = events;
    this.#serverState = serverState;
    this.tags = new TagTable<VolumeRow>(db, 'volumes');
    this.#keyLookup = db.prepare('SELECT id FROM volume_keys WHERE key = ?');
    this.#insertKey = db.prepare('INSERT INTO volume_keys (key, id) VALUES (?, ?)');
    this.#insert = db.prepare(
      'INSERT INTO volumes (id, pool, size_gb, server_id, created_at) VALUES (?, ?, ?, NULL, ?) RETURNING n',
    );
    this.#setServer = db.prepare('UPDATE volumes SET server_id = ? WHERE n = ?');
    this.#remove = db.prepare('DELETE FROM volumes WHERE n = ?');
    this.#used = db.prepare('SELECT COALESCE(SUM(size_gb), 0) AS used FROM volumes WHERE pool = ?');
    this.#attachedTo = db.prepare(
      `SELECT s.*, (SELECT json_group_object(t.k, t.v) FROM volume_tags t WHERE t.n = s.n) AS tags_json
       FROM volumes s WHERE s.server_id = ?`,
    );
  }

  storagePools(): StoragePool[] {
    return this.#pools.map((p) => ({
      name: p.name,
      type: p.type,
      can_create: p.can_create,
      capacity_gb: p.capacity_gb,
      used_gb: this.#used.get(p.name)?.used ?? 0,
    }));
  }

  create(body: CreateVolumeBody): { volume: Volume; created: boolean } {
    const key = body.idempotency_key;
    const known = key === undefined ? undefined : this.#keyLookup.get(key);
    if (known) {
      const row = this.tags.byId(known.id);
      if (!row)
        throw new ApiError(
          410,
          'gone',
          `volume ${known.id} made with idempotency_key ${key} was deleted`,
          'idempotency_key',
          { id: known.id },
        );
      return { volume: toVolume(row), created: false };
    }
    const pool = this.#pools.find((p) => p.name === body.pool);
    if (!pool)
      throw new ApiError(422, 'storage_pool_not_found', `storage pool ${body.pool} does not exist`, 'pool');
    if (!pool.can_create) {
      throw new ApiError(
        422,
        'pool_cannot_create',
        `storage pool ${body.pool} (${pool.type}) cannot create volumes`,
        'pool',
      );
    }
    const used = this.#used.get(pool.name)?.used ?? 0;
    const overshoot = used + body.size_gb - pool.capacity_gb;
    if (overshoot > 0) {
      throw new ApiError(
        409,
        'capacity_exceeded',
        `storage pool ${pool.name}: size_gb would exceed its capacity by ${overshoot} (capacity ${pool.capacity_gb}, used ${used})`,
        'size_gb',
        {
          pool: pool.name,
          resource: 'size_gb',
          limit: pool.capacity_gb,
          usage: used,
          requested: body.size_gb,
          overshoot,
        },
      );
    }
    const id = `vol-${randomUUID()}`;
    this.#db.transaction(() => {
      const { n } = this.#insert.get(id, pool.name, body.size_gb, new Date().toISOString()) as { n: number };
      this.tags.merge(n, body.tags);
      if (key !== undefined) this.#insertKey.run(key, id);
      this.#events.record('volume.created', id, body.tags, { pool: pool.name, size_gb: body.size_gb });
    })();
    return { volume: this.get(id), created: true };
  }

  get(id: string): Volume {
    return toVolume(this.#mustGet(id));
  }

  list(tags: Tags, after: number, limit: number): Page<Volume> {
    const page = this.tags.page(tags, after, limit);
    return { items: page.items.map(toVolume), next: page.next };
  }

  attach(id: string, serverId: string): Volume {
    const row = this.#mustGet(id);
    if (row.server_id === serverId) return toVolume(row);
    if (row.server_id !== null) {
      throw new ApiError(
        409,
        'volume_in_use',
        `volume ${id} is attached to server ${row.server_id}`,
        'server_id',
      );
    }
    const state = this.#serverState(serverId);
    if (state === undefined)
      throw new ApiError(422, 'server_not_found', `server ${serverId} does not exist`, 'server_id');
    if (!ATTACHABLE.includes(state))
      throw invalidState(`cannot attach to server ${serverId} in state ${state}`);
    this.#db.transaction(() => {
      this.#setServer.run(serverId, row.n);
      this.#events.record('volume.attached', id, parseTags(row.tags_json), { server_id: serverId });
    })();
    return this.get(id);
  }

  detach(id: string): Volume {
    const row = this.#mustGet(id);
    if (row.server_id === null) return toVolume(row);
    this.#detachRow(row);
    return this.get(id);
  }

  /** Runs inside the server's removal transaction. */
  detachAllFrom(serverId: string): void {
    for (const row of this.#attachedTo.all(serverId)) this.#detachRow(row);
  }

  delete(id: string): void {
    const row = this.#mustGet(id);
    if (row.server_id !== null) {
      throw new ApiError(
        409,
        'volume_in_use',
        `volume ${id} is attached to server ${row.server_id}; detach it first`,
      );
    }
    this.#db.transaction(() => {
      this.tags.removeAll(row.n);
      this.#remove.run(row.n);
      this.#events.record('volume.deleted', id, parseTags(row.tags_json), { pool: row.pool });
    })();
  }

  #detachRow(row: Row): void {
    this.#db.transaction(() => {
      this.#setServer.run(null, row.n);
      this.#events.record('volume.detached', row.id, parseTags(row.tags_json), { server_id: row.server_id });
    })();
  }

  #mustGet(id: string): Row {
    const row = this.tags.byId(id);
    if (!row) throw notFound('volume', id);
    return row;
  }
}

function toVolume(row: Row): Volume {
  return {
    id: row.id,
    pool: row.pool,
    size_gb: row.size_gb,
    tags: parseTags(row.tags_json),
    server_id: row.server_id,
  };
}
