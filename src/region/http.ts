// The HTTP front: auth, injected faults, JSON in and out, errors as `{"error": {...}}`. No framework.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Faults } from '../cloud/port';
import { ApiError } from './errors';
import type { Route } from './routes';

const MAX_BODY = 1 << 20;

export interface FrontOptions {
  token: string;
  routes: Route[];
  faults: () => Faults;
  /** Runs before each API request (applies overdue transitions). */
  beforeEach: () => void;
  log: (line: string) => void;
}

export function createFront(o: FrontOptions): http.Server {
  const expected = Buffer.from(`Bearer ${o.token}`);
  const authorized = (header: string | undefined): boolean => {
    const given = Buffer.from(header ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const server = http.createServer((req, res) => {
    handle(req).then(
      (reply) => send(res, reply.status, reply.body),
      (err: unknown) => {
        if (err instanceof ApiError) {
          send(res, err.status, err.toBody(), err.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
          return;
        }
        o.log(`region: internal error on ${req.method} ${req.url?.split('?')[0]}: ${String(err)}`);
        send(res, 500, new ApiError(500, 'internal', 'internal error').toBody());
      },
    );
  });
  server.keepAliveTimeout = 30_000;

  async function handle(req: http.IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const url = new URL(req.url ?? '/', 'http://region');
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz' && method === 'GET') return { status: 200, body: { status: 'ok' } };
    if (!authorized(req.headers.authorization)) {
      throw new ApiError(401, 'unauthorized', 'missing or wrong bearer token');
    }
    const matching = o.routes.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).filter((x) => x.m);
    if (matching.length === 0) throw new ApiError(404, 'not_found', `no such endpoint ${url.pathname}`);
    const hit = matching.find((x) => x.r.method === method);
    if (!hit?.m) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`);

    if (!hit.r.admin) {
      const faults = o.faults();
      if (faults.latency_ms > 0) await sleep(faults.latency_ms);
      // Before anything is read or written: an injected failure must leave no trace.
      if (faults.error_rate > 0 && Math.random() < faults.error_rate) {
        req.resume();
        throw new ApiError(503, 'unavailable', 'injected failure (error_rate)');
      }
    }
    const body =
      method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readJson(req) : undefined;
    o.beforeEach();
    return hit.r.handle({ params: hit.m.slice(1), query: url.searchParams, body });
  }

  return server;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) throw new ApiError(413, 'too_large', `request body over ${MAX_BODY} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'malformed_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
