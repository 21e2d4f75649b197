// The region API: one line per endpoint, mapping a validated request to a store call.
import type { Faults } from '../cloud/port';
import type { CloudTopology } from '../domain/cloud';
import type { Allocations } from './allocations';
import { ApiError } from './errors';
import type { EventLog } from './events';
import { faultsPatchSchema } from './faults';
import type { Images } from './images';
import {
  ACTIONS,
  PAGE_DEFAULT,
  PAGE_MAX,
  actionSchema,
  attachSchema,
  createAllocationSchema,
  createServerSchema,
  createVolumeSchema,
  cursor,
  detachSchema,
  imageSchema,
  parseListQuery,
  patchTagsSchema,
  lookupServersSchema,
  addressHoldersSchema,
  type Action,
} from './schemas';
import type { Servers } from './servers';
import { parseBody } from './validate';
import type { Volumes } from './volumes';

export interface Request {
  params: string[];
  query: URLSearchParams;
  body: unknown;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** Admin and event routes are exempt from injected latency and errors, so tests can always steer. */
  admin?: boolean;
  handle(req: Request): Reply;
}

export interface Stores {
  servers: Servers;
  allocations: Allocations;
  volumes: Volumes;
  images: Images;
  events: EventLog;
  faults: { get(): Faults; set(patch: Partial<Faults>): Faults };
  /** The AZs and networks of region.yml, as a cloud config is checked against them. */
  topology: () => CloudTopology;
}

const ID = '([^/]+)';
const ok = (body: unknown, status = 200): Reply => ({ status, body });
const noContent: Reply = { status: 204 };
/** Small config-sized lists page in memory; the cursor is the position. */
function list<T>(req: Request, items: T[]): Reply {
  const q = parseListQuery(req.query, ['limit', 'after']);
  const page = items.slice(q.after, q.after + q.limit);
  const end = q.after + page.length;
  return ok({ items: page, next: end < items.length ? String(end) : null });
}

function param(req: Request, i = 0): string {
  const raw = req.params[i] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    // Broken percent-encoding is the caller's mistake, never a 500.
    throw new ApiError(400, 'invalid', `path: malformed percent-encoding in '${raw.slice(0, 80)}'`, 'path');
  }
}

export function routes(s: Stores): Route[] {
  return [
    // servers
    {
      method: 'POST',
      pattern: /^\/v1\/servers$/,
      handle: (req) => {
        const { server, created } = s.servers.create(parseBody(createServerSchema, req.body));
        return ok(server, created ? 202 : 200);
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/servers$/,
      handle: (req) => {
        const q = parseListQuery(req.query);
        return ok(s.servers.list(q.tags, q.after, q.limit));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/servers/${ID}$`),
      handle: (req) => ok(s.servers.get(param(req))),
    },
    {
      // Many servers in one read (what every waiting activity polls): the ones that exist.
      method: 'POST',
      pattern: /^\/v1\/servers\/lookup$/,
      handle: (req) => ok({ items: s.servers.lookup(parseBody(lookupServersSchema, req.body).ids) }),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/v1/servers/${ID}/tags$`),
      handle: (req) => ok(s.servers.patchTags(param(req), parseBody(patchTagsSchema, req.body).tags)),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/servers/${ID}$`),
      // 202 with the server while it is DELETING; 204 when it was gone at once.
      handle: (req) => {
        const deleting = s.servers.delete(param(req));
        return deleting === null ? noContent : ok(deleting, 202);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/servers/${ID}/actions$`),
      handle: (req) => {
        const { action } = parseBody(actionSchema, req.body);
        if (!(ACTIONS as readonly string[]).includes(action)) {
          throw new ApiError(
            422,
            'unknown_action',
            `action ${action} is not one of ${ACTIONS.join(', ')}`,
            'action',
          );
        }
        return ok(s.servers.action(param(req), action as Action));
      },
    },

    // quota
    {
      method: 'POST',
      pattern: /^\/v1\/allocations$/,
      handle: (req) => {
        const { allocation, created } = s.allocations.create(parseBody(createAllocationSchema, req.body));
        return ok(allocation, created ? 201 : 200);
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/allocations$/,
      handle: (req) => {
        const q = parseListQuery(req.query);
        return ok(s.allocations.list(q.tags, q.after, q.limit));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/allocations/${ID}$`),
      handle: (req) => ok(s.allocations.get(param(req))),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/allocations/${ID}$`),
      handle: (req) => {
        s.allocations.release(param(req));
        return noContent;
      },
    },
    { method: 'GET', pattern: /^\/v1\/pools$/, handle: (req) => list(req, s.allocations.pools()) },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/pools/${ID}$`),
      handle: (req) => ok(s.allocations.pool(param(req))),
    },

    { method: 'GET', pattern: /^\/v1\/topology$/, handle: () => ok(s.topology()) },
    {
      // Who holds these addresses, whatever deployment: the operation's opening read (planner/held.ts).
      method: 'POST',
      pattern: /^\/v1\/addresses\/holders$/,
      handle: (req) => ok({ items: s.servers.holders(parseBody(addressHoldersSchema, req.body).ips) }),
    },

    // storage
    {
      method: 'GET',
      pattern: /^\/v1\/storage-pools$/,
      handle: (req) => list(req, s.volumes.storagePools()),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/volumes$/,
      handle: (req) => {
        const { volume, created } = s.volumes.create(parseBody(createVolumeSchema, req.body));
        return ok(volume, created ? 201 : 200);
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/volumes$/,
      handle: (req) => {
        const q = parseListQuery(req.query);
        return ok(s.volumes.list(q.tags, q.after, q.limit));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/volumes/${ID}$`),
      handle: (req) => ok(s.volumes.get(param(req))),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/volumes/${ID}/attach$`),
      handle: (req) => ok(s.volumes.attach(param(req), parseBody(attachSchema, req.body).server_id)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/volumes/${ID}/detach$`),
      handle: (req) => {
        parseBody(detachSchema, req.body ?? {});
        return ok(s.volumes.detach(param(req)));
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/volumes/${ID}$`),
      handle: (req) => {
        s.volumes.delete(param(req));
        return noContent;
      },
    },

    // images
    { method: 'GET', pattern: /^\/v1\/images$/, handle: (req) => list(req, s.images.list()) },
    {
      method: 'POST',
      pattern: /^\/v1\/images$/,
      handle: (req) => {
        const image = parseBody(imageSchema, req.body);
        return ok(image, s.images.create(image) ? 201 : 200);
      },
    },
    {
      // An image withdrawn (tests: a stemcell gone between a plan and its creates).
      method: 'DELETE',
      pattern: new RegExp(`^/v1/images/${ID}/${ID}$`),
      admin: true,
      handle: (req) => {
        if (!s.images.delete({ os: param(req, 0), version: param(req, 1) }))
          throw new ApiError(404, 'not_found', `image ${param(req, 0)}/${param(req, 1)} not found`);
        return noContent;
      },
    },

    // admin
    { method: 'GET', pattern: /^\/v1\/admin\/faults$/, admin: true, handle: () => ok(s.faults.get()) },
    {
      method: 'PUT',
      pattern: /^\/v1\/admin\/faults$/,
      admin: true,
      handle: (req) => ok(s.faults.set(stripUndefined(parseBody(faultsPatchSchema, req.body)))),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/events$/,
      admin: true,
      handle: (req) => {
        const q = req.query;
        for (const key of q.keys()) {
          if (!['since', 'after', 'limit'].includes(key))
            throw new ApiError(400, 'invalid', `unknown query parameter ${key}`, key);
        }
        const since = Math.max(cursor(q, 'since'), cursor(q, 'after'));
        const limitText = q.get('limit');
        const limit = limitText === null ? PAGE_DEFAULT : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) {
          throw new ApiError(400, 'invalid', `limit: expected an integer from 1 to ${PAGE_MAX}`, 'limit');
        }
        return ok(s.events.page(since, limit));
      },
    },
  ];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
