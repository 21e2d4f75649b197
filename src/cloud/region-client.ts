// The CloudPort over HTTP, for the region: one small function per region call (Unikorn's region.go).
// Every call has a timeout; every failure becomes a typed CloudError; a 404 on delete counts as done.
import http from 'node:http';
import https from 'node:https';
import type {
  AddressHolder,
  Allocation,
  CloudTopology,
  Image,
  PoolStatus,
  Server,
  Tags,
  Volume,
} from '../domain/cloud';
import { ADDRESS_LOOKUP_MAX } from './port';
import type {
  ComputePort,
  CreateAllocationRequest,
  CreateServerRequest,
  CreateVolumeRequest,
  Faults,
  QuotaLedger,
  RegionAdmin,
  RegionEvent,
  ServerAction,
  StoragePool,
} from './port';
import { CloudError, NotFound, Unavailable, errorFromResponse, type ErrorBody } from './errors';

export interface RegionClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7480 */
  url: string;
  token: string;
  /** Per-request timeout; the default suits a local region. */
  timeoutMs?: number;
  /** Page size asked for by list calls (the region caps it at 5000). */
  pageSize?: number;
  /** Concurrent sockets kept per region. */
  maxSockets?: number;
}

interface Page<T> {
  items: T[];
  next: string | null;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Retrying a request that died on a reused keep-alive socket is safe only when repeating it is. */
const SAFE_TO_REPEAT: ReadonlySet<Method> = new Set(['GET', 'PUT', 'PATCH', 'DELETE']);

export class RegionClient implements ComputePort, QuotaLedger, RegionAdmin {
  readonly url: string;
  readonly timeoutMs: number;
  readonly #token: string;
  readonly #base: URL;
  /** Where requests go, parsed once (what http.request would derive from a URL on every call). */
  readonly #target: { protocol: string; hostname: string; port: string };
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #pageSize: number;

  constructor(options: RegionClientOptions) {
    this.#base = new URL(options.url);
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') {
      throw new TypeError(`region url must be http(s), got ${this.#base.protocol}`);
    }
    this.url = this.#base.origin;
    const { protocol, hostname, port } = this.#base;
    // An IPv6 literal comes bracketed in a URL; http.request wants it bare.
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    this.#target = { protocol, hostname: bare, port };
    this.#token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#pageSize = options.pageSize ?? 1000;
    this.#transport = this.#base.protocol === 'https:' ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.#agent =
      this.#base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Closes idle keep-alive sockets; the client stays usable (new sockets are opened on demand). */
  close(): void {
    this.#agent.destroy();
  }

  // --- health -----------------------------------------------------------------------------------

  async health(): Promise<boolean> {
    try {
      await this.#call('GET', '/healthz');
      return true;
    } catch (err) {
      if (err instanceof CloudError) return false;
      throw err;
    }
  }

  // --- servers ----------------------------------------------------------------------------------

  createServer(req: CreateServerRequest): Promise<Server> {
    // The region reads no cloud_properties (and refuses unknown fields); it takes a dynamic address
    // from `addressing`, the cloud config's subnet, as EC2's adapter does.
    const body = { ...req };
    delete body.cloud_properties;
    return this.#call<Server>('POST', '/v1/servers', body);
  }

  getServer(id: string): Promise<Server> {
    return this.#call<Server>('GET', `/v1/servers/${enc(id)}`);
  }

  async lookupServers(ids: readonly string[]): Promise<Server[]> {
    // POST because a thousand ids do not fit in a URL. It only reads: a lost one is asked next poll.
    return (await this.#call<{ items: Server[] }>('POST', '/v1/servers/lookup', { ids })).items;
  }

  listServers(tags: Tags): Promise<Server[]> {
    return this.#all<Server>('/v1/servers', tagQuery(tags));
  }

  setServerTags(id: string, tags: Tags): Promise<Server> {
    return this.#call<Server>('PATCH', `/v1/servers/${enc(id)}/tags`, { tags });
  }

  async deleteServer(id: string): Promise<'gone' | 'deleting'> {
    // 202 with the server while it is DELETING; 204 (no body) or 404 once it is gone.
    const deleting = await goneIsDone(this.#call<Server | undefined>('DELETE', `/v1/servers/${enc(id)}`));
    return deleting === undefined ? 'gone' : 'deleting';
  }

  serverAction(id: string, action: ServerAction): Promise<Server> {
    return this.#call<Server>('POST', `/v1/servers/${enc(id)}/actions`, { action });
  }

  // --- quota ------------------------------------------------------------------------------------

  createAllocation(req: CreateAllocationRequest): Promise<Allocation> {
    return this.#call<Allocation>('POST', '/v1/allocations', req);
  }

  getAllocation(id: string): Promise<Allocation> {
    return this.#call<Allocation>('GET', `/v1/allocations/${enc(id)}`);
  }

  listAllocations(tags: Tags): Promise<Allocation[]> {
    return this.#all<Allocation>('/v1/allocations', tagQuery(tags));
  }

  async deleteAllocation(id: string): Promise<void> {
    await goneIsDone(this.#call('DELETE', `/v1/allocations/${enc(id)}`));
  }

  getPool(name: string): Promise<PoolStatus> {
    return this.#call<PoolStatus>('GET', `/v1/pools/${enc(name)}`);
  }

  listPools(): Promise<PoolStatus[]> {
    return this.#all<PoolStatus>('/v1/pools', new URLSearchParams());
  }

  // --- storage ----------------------------------------------------------------------------------

  listStoragePools(): Promise<StoragePool[]> {
    return this.#all<StoragePool>('/v1/storage-pools', new URLSearchParams());
  }

  createVolume(req: CreateVolumeRequest): Promise<Volume> {
    // Region volumes live in storage pools, not AZs (and the region refuses unknown fields).
    const body = { ...req };
    delete body.near_server;
    return this.#call<Volume>('POST', '/v1/volumes', body);
  }

  getVolume(id: string): Promise<Volume> {
    return this.#call<Volume>('GET', `/v1/volumes/${enc(id)}`);
  }

  listVolumes(tags: Tags): Promise<Volume[]> {
    return this.#all<Volume>('/v1/volumes', tagQuery(tags));
  }

  attachVolume(id: string, serverId: string): Promise<Volume> {
    return this.#call<Volume>('POST', `/v1/volumes/${enc(id)}/attach`, { server_id: serverId });
  }

  detachVolume(id: string): Promise<Volume> {
    return this.#call<Volume>('POST', `/v1/volumes/${enc(id)}/detach`, {});
  }

  async deleteVolume(id: string): Promise<void> {
    await goneIsDone(this.#call('DELETE', `/v1/volumes/${enc(id)}`));
  }

  // --- topology ---------------------------------------------------------------------------------

  describeTopology(): Promise<CloudTopology> {
    return this.#call<CloudTopology>('GET', '/v1/topology');
  }

  async addressHolders(ips: readonly string[]): Promise<AddressHolder[]> {
    const out: AddressHolder[] = [];
    for (let i = 0; i < ips.length; i += ADDRESS_LOOKUP_MAX) {
      const batch = ips.slice(i, i + ADDRESS_LOOKUP_MAX);
      out.push(
        ...(await this.#call<{ items: AddressHolder[] }>('POST', '/v1/addresses/holders', { ips: batch }))
          .items,
      );
    }
    return out;
  }

  // --- images -----------------------------------------------------------------------------------

  listImages(): Promise<Image[]> {
    return this.#all<Image>('/v1/images', new URLSearchParams());
  }

  async hasImage(image: Image): Promise<boolean> {
    return (await this.listImages()).some((i) => i.os === image.os && i.version === image.version);
  }

  createImage(image: Image): Promise<Image> {
    return this.#call<Image>('POST', '/v1/images', image);
  }

  async deleteImage(image: Image): Promise<void> {
    await this.#call('DELETE', `/v1/images/${enc(image.os)}/${enc(image.version)}`);
  }

  // --- admin ------------------------------------------------------------------------------------

  setFaults(faults: Partial<Faults>): Promise<Faults> {
    return this.#call<Faults>('PUT', '/v1/admin/faults', faults);
  }

  getFaults(): Promise<Faults> {
    return this.#call<Faults>('GET', '/v1/admin/faults');
  }

  /** Every event after `since` (exclusive), oldest first. */
  events(since = 0): Promise<RegionEvent[]> {
    return this.#all<RegionEvent>('/v1/events', new URLSearchParams({ since: String(since) }));
  }

  // --- transport --------------------------------------------------------------------------------

  /** Follows `next` cursors until the list is complete. */
  async #all<T>(path: string, query: URLSearchParams): Promise<T[]> {
    const items: T[] = [];
    query.set('limit', String(this.#pageSize));
    for (;;) {
      const page = await this.#call<Page<T>>('GET', `${path}?${query.toString()}`);
      items.push(...page.items);
      if (page.next === null) return items;
      query.set('after', page.next);
    }
  }

  async #call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    try {
      return await this.#send<T>(method, path, body);
    } catch (err) {
      // A keep-alive socket the region closed between requests: the request never arrived.
      if (err instanceof StaleSocket && SAFE_TO_REPEAT.has(method)) return this.#send<T>(method, path, body);
      if (err instanceof StaleSocket) throw err.unavailable;
      throw err;
    }
  }

  #send<T>(method: Method, path: string, body: unknown): Promise<T> {
    const what = `${method} ${path.split('?')[0] ?? path}`;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<T>((resolve, reject) => {
      // A socket timeout, not an AbortSignal: a signal per call (its timer, its listeners) cost
      // ~5 % of the worker's main thread at 1,000 VMs. The answer is one small JSON body, so
      // "no byte for timeoutMs" and "no answer within timeoutMs" are the same thing here.
      const req = this.#transport.request(
        {
          ...this.#target,
          path,
          method,
          headers,
          agent: this.#agent,
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(transportError(e, what, this.timeoutMs)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status >= 200 && status < 300) {
              try {
                resolve((text === '' ? undefined : JSON.parse(text)) as T);
              } catch (e) {
                reject(
                  new Unavailable({ code: 'bad_response', status, message: `${what}: not JSON`, cause: e }),
                );
              }
              return;
            }
            reject(errorFromResponse(status, parseErrorBody(text), what));
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const error = transportError(e, what, this.timeoutMs);
        reject(req.reusedSocket && e.code === 'ECONNRESET' ? new StaleSocket(error) : error);
      });
      req.end(payload);
    });
  }
}

/** A request lost on a keep-alive socket that was already closed. */
class StaleSocket extends Error {
  constructor(readonly unavailable: Unavailable) {
    super(unavailable.message);
  }
}

function transportError(e: NodeJS.ErrnoException, what: string, timeoutMs: number): Unavailable {
  const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
  const code = timedOut ? 'timeout' : (e.code ?? 'transport');
  const message = timedOut ? `${what}: no answer within ${timeoutMs} ms` : `${what}: ${e.message}`;
  return new Unavailable({ code, status: 0, message, cause: e });
}

function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: ErrorBody };
    return typeof parsed.error?.code === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** A DELETE's answer, or undefined when its target was already gone (404): deleting twice is done. */
async function goneIsDone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}

function tagQuery(tags: Tags): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(tags)) q.append('tag', `${k}=${v}`);
  return q;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
