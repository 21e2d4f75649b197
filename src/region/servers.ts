// Servers: created in BUILD, become ACTIVE (or ERROR, or never) at a stored deadline, DELETING then gone.
// Every change is one transaction with its event; deadlines live in the row so a restart resumes them.
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Faults } from '../cloud/port';
import type { AddressHolder, Server, ServerState, Tags } from '../domain/cloud';
import type { RegionConfig } from './config';
import type { Db } from './db';
import { ApiError, invalidState, notFound } from './errors';
import type { EventLog } from './events';
import { buildFate } from './faults';
import type { Images } from './images';
import {
  NetworkIpam,
  cidrHosts,
  ipToNum,
  numToIp,
  parseRange,
  type AddressLimit,
  type Interval,
} from './ipam';
import type { Action, CreateServerBody } from './schemas';
import { TagTable, parseTags, type Page, type TaggedRow } from './tagged';

interface ServerRow {
  n: number;
  id: string;
  name: string;
  state: ServerState;
  cpus: number;
  memory_mb: number;
  disk_gb: number;
  image_os: string;
  image_version: string;
  az: string;
  network: string;
  ip: string;
  ip_num: number;
  mac: string;
  created_at: string;
  next_state: 'ACTIVE' | 'ERROR' | 'GONE' | null;
  transition_at: number | null;
}

type Row = TaggedRow<ServerRow>;

/** Called when a server gets a deadline, so the scheduler can wake up in time. */
export type DeadlineListener = (at: number) => void;

/** Detaches volumes of a server that is going away (persistent disks outlive their VM). */
export type VolumeDetacher = (serverId: string) => void;

export class Servers {
  readonly tags: TagTable<ServerRow>;
  readonly #db: Db;
  readonly #config: RegionConfig;
  readonly #events: EventLog;
  readonly #images: Images;
  readonly #faults: () => Faults;
  readonly #ipams = new Map<string, NetworkIpam>();
  #lastN: number;
  onDeadline: DeadlineListener = () => {};
  onGone: VolumeDetacher = () => {};

  readonly #keyLookup: Statement<[string], { id: string }>;
  readonly #insertKey: Statement<[string, string]>;
  readonly #insert: Statement<unknown[]>;
  readonly #setState: Statement<[ServerState, string | null, number | null, number]>;
  readonly #remove: Statement<[number]>;
  readonly #due: Statement<[number], Row>;
  readonly #nextDeadline: Statement<[], { at: number | null }>;
  readonly #allocationUse: Statement<[string], { one: number }>;
  readonly #stateOf: Statement<[string], { state: ServerState }>;
  readonly #holding: Statement<[string], { id: string }>;

  constructor(db: Db, config: RegionConfig, events: EventLog, images: Images, faults: () => Faults) {
    this.#db = db;
    this.#config = config;
    this.#events = events;
    this.#images = images;
    this.#faults = faults;
    this.tags = new TagTable<ServerRow>(db, 'servers');
    for (const net of config.networks) this.#ipams.set(net.name, ipamFor(net));
    for (const { network, ip_num } of db
      .prepare<[], { network: string; ip_num: number }>('SELECT network, ip_num FROM servers')
      .all()) {
      this.#ipams.get(network)?.markUsed(ip_num);
    }
    this.#lastN =
      db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'servers'").get()?.seq ??
      0;

    this.#keyLookup = db.prepare('SELECT id FROM server_keys WHERE key = ?');
    this.#insertKey = db.prepare('INSERT INTO server_keys (key, id) VALUES (?, ?)');
    this.#insert = db.prepare(
      `INSERT INTO servers (n, id, name, state, cpus, memory_mb, disk_gb, image_os, image_version, az, network, ip, ip_num, mac,
         user_data, created_at, next_state, transition_at)
       VALUES (?, ?, ?, 'BUILD', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#setState = db.prepare(
      'UPDATE servers SET state = ?, next_state = ?, transition_at = ? WHERE n = ?',
    );
    this.#remove = db.prepare('DELETE FROM servers WHERE n = ?');
    this.#due = db.prepare(
      `SELECT s.*, (SELECT json_group_object(t.k, t.v) FROM server_tags t WHERE t.n = s.n) AS tags_json
       FROM servers s WHERE s.transition_at IS NOT NULL AND s.transition_at <= ? ORDER BY s.transition_at, s.n LIMIT 500`,
    );
    this.#nextDeadline = db.prepare(
      'SELECT MIN(transition_at) AS at FROM servers WHERE transition_at IS NOT NULL',
    );
    this.#stateOf = db.prepare('SELECT state FROM servers WHERE id = ?');
    this.#holding = db.prepare('SELECT id FROM servers WHERE ip = ? ORDER BY n');
    this.#allocationUse = db.prepare(
      "SELECT 1 AS one FROM server_tags WHERE k = 'converge.allocation' AND v = ? LIMIT 1",
    );
  }

  /** Creates a server, or returns the one this idempotency key already made. */
  create(body: CreateServerBody, now = Date.now()): { server: Server; created: boolean } {
    const known = this.#keyLookup.get(body.idempotency_key);
    if (known) {
      const row = this.tags.byId(known.id);
      if (!row) {
        throw new ApiError(
          410,
          'gone',
          `server ${known.id} made with idempotency_key ${body.idempotency_key} was deleted`,
          'idempotency_key',
          { id: known.id },
        );
      }
      return { server: toServer(row), created: false };
    }
    if (!this.#config.azs.includes(body.az))
      throw new ApiError(422, 'az_not_found', `az ${body.az} does not exist`, 'az');
    const ipam = this.#ipams.get(body.network);
    if (!ipam)
      throw new ApiError(422, 'network_not_found', `network ${body.network} does not exist`, 'network');
    if (!ipam.servesAz(body.az)) {
      throw new ApiError(422, 'invalid_az', `network ${body.network} has no subnet in az ${body.az}`, 'az');
    }
    if (!this.#images.has(body.image)) {
      throw new ApiError(
        422,
        'image_not_found',
        `image ${body.image.os}/${body.image.version} does not exist`,
        'image',
      );
    }

    const ipNum =
      body.static_ip === undefined
        ? ipam.claimDynamic(body.az, body.addressing && limitOf(body.addressing))
        : ipam.claimStatic(body.static_ip, body.az);
    const faults = this.#faults();
    const fate = buildFate(faults);
    const n = this.#lastN + 1;
    const id = `srv-${randomUUID()}`;
    const createdAt = new Date(now).toISOString();
    const at = fate === 'STUCK' ? null : now + faults.build_ms;
    try {
      this.#db.transaction(() => {
        this.#insert.run(
          n,
          id,
          body.name,
          body.cpus,
          body.memory_mb,
          body.disk_gb,
          body.image.os,
          body.image.version,
          body.az,
          body.network,
          numToIp(ipNum),
          ipNum,
          macFor(n),
          body.user_data ?? null,
          createdAt,
          fate === 'STUCK' ? null : fate,
          at,
        );
        this.tags.merge(n, body.tags);
        this.#insertKey.run(body.idempotency_key, id);
        this.#events.record('server.created', id, body.tags, { name: body.name, ip: numToIp(ipNum) });
      })();
    } catch (err) {
      ipam.release(ipNum);
      throw err;
    }
    this.#lastN = n;
    // A build that takes no time is over before the answer goes out: the caller need not ask again.
    if (at !== null && at <= now) {
      this.runDue(now);
      return { server: this.get(id), created: true };
    }
    if (at !== null) this.onDeadline(at);
    // Built from what was just written: saves a read on the hottest path.
    const server: Server = {
      id,
      name: body.name,
      state: 'BUILD',
      power: 'stopped',
      health: 'unknown',
      addresses: [{ network: body.network, ip: numToIp(ipNum), mac: macFor(n) }],
      az: body.az,
      image: { os: body.image.os, version: body.image.version },
      cpus: body.cpus,
      memory_mb: body.memory_mb,
      disk_gb: body.disk_gb,
      tags: { ...body.tags },
      created_at: createdAt,
    };
    return { server, created: true };
  }

  get(id: string): Server {
    return toServer(this.#mustGet(id));
  }

  /** The servers among `ids` that exist, in the order asked; an id left out is gone. */
  lookup(ids: readonly string[]): Server[] {
    const found: Server[] = [];
    for (const id of ids) {
      const row = this.tags.byId(id);
      if (row) found.push(toServer(row));
    }
    return found;
  }

  /** The servers holding any of `ips` (DELETING ones too: an address is free only once its server is gone). */
  holders(ips: readonly string[]): AddressHolder[] {
    const out: AddressHolder[] = [];
    for (const ip of new Set(ips)) {
      for (const { id } of this.#holding.all(ip)) {
        const row = this.tags.byId(id);
        if (row)
          out.push({
            ip,
            kind: 'server',
            holder: row.id,
            name: row.name,
            tags: parseTags(row.tags_json),
            deleting: row.state === 'DELETING',
          });
      }
    }
    return out;
  }

  stateOf(id: string): ServerState | undefined {
    return this.#stateOf.get(id)?.state;
  }

  list(tags: Tags, after: number, limit: number): Page<Server> {
    const page = this.tags.page(tags, after, limit);
    return { items: page.items.map(toServer), next: page.next };
  }

  patchTags(id: string, tags: Tags): Server {
    const row = this.#mustGet(id);
    if (row.state === 'DELETING') throw invalidState(`server ${id} is DELETING; its tags are frozen`);
    this.#db.transaction(() => {
      this.tags.merge(row.n, tags);
      this.#events.record('server.tags', id, { ...parseTags(row.tags_json), ...tags }, { set: tags });
    })();
    return this.get(id);
  }

  /**
   * Starts deletion; asking again while it is DELETING changes nothing. Returns the server, DELETING,
   * or null when the deletion took no time and it is already gone.
   */
  delete(id: string, now = Date.now()): Server | null {
    const row = this.#mustGet(id);
    if (row.state === 'DELETING') return toServer(row);
    const at = now + this.#faults().delete_ms;
    this.#db.transaction(() => {
      this.#setState.run('DELETING', 'GONE', at, row.n);
      this.#events.record('server.deleting', id, parseTags(row.tags_json), { from: row.state });
    })();
    if (at <= now) {
      this.runDue(now);
      return null;
    }
    this.onDeadline(at);
    return this.get(id);
  }

  action(id: string, action: Action): Server {
    const row = this.#mustGet(id);
    const plan = ACTION_RULES[action];
    if (!plan.from.includes(row.state)) {
      throw invalidState(
        `cannot ${action} server ${id} in state ${row.state} (allowed from ${plan.from.join(', ')})`,
      );
    }
    this.#db.transaction(() => {
      this.#setState.run(plan.to, null, null, row.n);
      this.#events.record(plan.event, id, parseTags(row.tags_json), { from: row.state, to: plan.to });
    })();
    return this.get(id);
  }

  /** True while any server (even one being deleted) carries converge.allocation=<id>. */
  allocationInUse(allocationId: string): boolean {
    return this.#allocationUse.get(allocationId) !== undefined;
  }

  /** Applies every transition whose deadline has passed; returns the next deadline, if any. */
  runDue(now = Date.now()): number | null {
    for (;;) {
      const due = this.#due.all(now);
      if (due.length === 0) break;
      const freed: Row[] = [];
      this.#db.transaction(() => {
        for (const row of due) if (this.#finish(row)) freed.push(row);
      })();
      for (const row of freed) this.#ipams.get(row.network)?.release(row.ip_num);
      if (due.length < 500) break;
    }
    return this.#nextDeadline.get()?.at ?? null;
  }

  /** Returns true when the server is gone (its address may be handed out again). */
  #finish(row: Row): boolean {
    const tags = parseTags(row.tags_json);
    switch (row.next_state) {
      case 'ACTIVE':
        this.#setState.run('ACTIVE', null, null, row.n);
        this.#events.record('server.active', row.id, tags);
        return false;
      case 'ERROR':
        this.#setState.run('ERROR', null, null, row.n);
        this.#events.record('server.error', row.id, tags, { reason: 'injected build failure' });
        return false;
      case 'GONE':
        this.onGone(row.id);
        this.tags.removeAll(row.n);
        this.#remove.run(row.n);
        this.#events.record('server.deleted', row.id, tags);
        return true;
      case null:
        return false;
    }
  }

  #mustGet(id: string): Row {
    const row = this.tags.byId(id);
    if (!row) throw notFound('server', id);
    return row;
  }
}

const ACTION_RULES: Record<Action, { from: ServerState[]; to: ServerState; event: string }> = {
  start: { from: ['SHUTOFF'], to: 'ACTIVE', event: 'server.started' },
  stop: { from: ['ACTIVE'], to: 'SHUTOFF', event: 'server.stopped' },
  reboot: { from: ['ACTIVE'], to: 'ACTIVE', event: 'server.rebooted' },
};

function toServer(row: Row): Server {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    power: row.state === 'ACTIVE' ? 'running' : 'stopped',
    health: row.state === 'ACTIVE' ? 'healthy' : row.state === 'ERROR' ? 'unhealthy' : 'unknown',
    addresses: [{ network: row.network, ip: row.ip, mac: row.mac }],
    az: row.az,
    image: { os: row.image_os, version: row.image_version },
    cpus: row.cpus,
    memory_mb: row.memory_mb,
    disk_gb: row.disk_gb,
    tags: parseTags(row.tags_json),
    created_at: row.created_at,
    ...(row.state === 'ERROR' ? { fault: BUILD_FAULT } : {}),
  };
}

/** What the region says about a build that ended in ERROR (the only way one does: error_build_rate). */
export const BUILD_FAULT = 'no valid host was found for the build (injected fault: error_build_rate)';

/** Locally administered, unicast, unique because `n` is never reused. */
function macFor(n: number): string {
  const bytes = [2];
  for (let shift = 32; shift >= 0; shift -= 8) bytes.push(Math.floor(n / 2 ** shift) % 256);
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The schema has checked every range parses. */
function limitOf(addressing: NonNullable<CreateServerBody['addressing']>): AddressLimit {
  const ranges = (list: string[]): Interval[] =>
    list.map(parseRange).filter((r): r is Interval => r !== undefined);
  return {
    range: addressing.range,
    hosts: cidrHosts(addressing.range) ?? [0, -1],
    excluded: ranges([...addressing.reserved, ...addressing.static]),
  };
}

function ipamFor(net: RegionConfig['networks'][number]): NetworkIpam {
  const ranges = (list: string[]): Interval[] =>
    list.map(parseRange).filter((r): r is Interval => r !== undefined);
  return new NetworkIpam(
    net.name,
    net.subnets.map((s) => ({
      hosts: cidrHosts(s.range) ?? [0, -1],
      gateway: ipToNum(s.gateway) ?? -1,
      reserved: ranges(s.reserved),
      static: ranges(s.static),
      azs: s.azs,
    })),
  );
}
