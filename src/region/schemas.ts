// Request bodies and queries, validated strictly (unknown fields are errors, nothing coerced).
import { z } from 'zod';
import { ADDRESS_LOOKUP_MAX, SERVER_LOOKUP_MAX } from '../cloud/port';
import { ApiError } from './errors';
import { cidrHosts, parseRange } from './ipam';

const name = z.string().min(1).max(255);

export const tagsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(255)
      .refine((k) => !k.includes('='), 'tag keys may not contain "="'),
    z.string().max(1024),
  )
  .refine((t) => Object.keys(t).length <= 64, 'at most 64 tags');

export const imageSchema = z.strictObject({ os: name, version: name });

const ipRanges = z
  .array(z.string().refine((r) => parseRange(r) !== undefined, 'an IPv4 address or a-b range'))
  .max(1024);

/** The caller's subnet (the director's cloud config): dynamic addresses come from its range only. */
export const addressingSchema = z.strictObject({
  range: z.string().refine((r) => cidrHosts(r) !== undefined, 'a CIDR such as 10.0.0.0/24 (prefix 8-32)'),
  reserved: ipRanges,
  static: ipRanges,
});

export const createServerSchema = z.strictObject({
  name,
  cpus: z.number().int().min(1).max(1024),
  memory_mb: z.number().int().min(1),
  disk_gb: z.number().int().min(1),
  image: imageSchema,
  az: name,
  network: name,
  static_ip: z.string().min(1).optional(),
  tags: tagsSchema,
  user_data: z.string().max(65_536).optional(),
  addressing: addressingSchema.optional(),
  idempotency_key: name,
});
export type CreateServerBody = z.infer<typeof createServerSchema>;

export const patchTagsSchema = z.strictObject({ tags: tagsSchema });

export const lookupServersSchema = z.strictObject({
  ids: z.array(name).min(1).max(SERVER_LOOKUP_MAX),
});

export const addressHoldersSchema = z.strictObject({
  ips: z.array(z.string().min(1).max(64)).min(1).max(ADDRESS_LOOKUP_MAX),
});

/** `action` is any string here: an unknown action is a 422, not a 400. */
export const actionSchema = z.strictObject({ action: z.string() });
export const ACTIONS = ['start', 'stop', 'reboot'] as const;
export type Action = (typeof ACTIONS)[number];

export const createAllocationSchema = z.strictObject({
  pool: name,
  key: name,
  cpus: z.number().int().min(0),
  memory_mb: z.number().int().min(0),
  instances: z.number().int().min(0),
  tags: tagsSchema,
});
export type CreateAllocationBody = z.infer<typeof createAllocationSchema>;

export const createVolumeSchema = z.strictObject({
  pool: name,
  size_gb: z.number().int().min(1),
  tags: tagsSchema,
  idempotency_key: name.optional(),
});
export type CreateVolumeBody = z.infer<typeof createVolumeSchema>;

export const attachSchema = z.strictObject({ server_id: name });
export const detachSchema = z.strictObject({});

/** Paging defaults: 1000 items per page unless asked, never more than 5000. */
export const PAGE_DEFAULT = 1000;
export const PAGE_MAX = 5000;

export interface ListQuery {
  tags: Record<string, string>;
  after: number;
  limit: number;
}

/** `?tag=k=v&tag=k2=v2&limit=&after=`; any other parameter is an error naming it. */
export function parseListQuery(
  q: URLSearchParams,
  allowed: readonly string[] = ['tag', 'limit', 'after'],
): ListQuery {
  for (const key of q.keys()) {
    if (!allowed.includes(key)) throw new ApiError(400, 'invalid', `unknown query parameter ${key}`, key);
  }
  const tags: Record<string, string> = {};
  for (const t of q.getAll('tag')) {
    const eq = t.indexOf('=');
    if (eq < 1) throw new ApiError(400, 'invalid', `tag: expected key=value, got "${t}"`, 'tag');
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return { tags, after: cursor(q, 'after'), limit: pageLimit(q) };
}

export function cursor(q: URLSearchParams, field: string): number {
  const v = q.get(field);
  if (v === null) return 0;
  if (!/^\d{1,15}$/.test(v))
    throw new ApiError(400, 'invalid', `${field}: expected a cursor from "next"`, field);
  return Number(v);
}

function pageLimit(q: URLSearchParams): number {
  const v = q.get('limit');
  if (v === null) return PAGE_DEFAULT;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > PAGE_MAX) {
    throw new ApiError(400, 'invalid', `limit: expected an integer from 1 to ${PAGE_MAX}`, 'limit');
  }
  return n;
}
