// Temporal's remote codec endpoints (/encode, /decode) over this process's payload codecs, so the
// Temporal UI and `temporal workflow show --codec-endpoint` can show encrypted payloads decoded.
// Bound to 127.0.0.1: whoever reaches it can decrypt, so it stays on the operator's machine.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** The JSON form of a payload (proto3 JSON): bytes as base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  codecs: readonly PayloadCodec[];
  /** 0 picks a free port. */
  port: number;
  /** Origins allowed by CORS (the Temporal UI's), e.g. http://127.0.0.1:8233. */
  origins: readonly string[];
}

export interface CodecServer {
  port: number;
  close: () => Promise<void>;
}

/** A Workflow history's payloads fit: a request is at most a few of Temporal's 2 MB payloads. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function serveCodec(options: CodecServerOptions): Promise<CodecServer> {
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      reply(res, 400, { message: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: CodecServerOptions): Promise<void> {
  const origin = req.headers.origin;
  if (origin !== undefined && options.origins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Vary', 'Origin');
  }
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/encode' && path !== '/decode') {
    reply(res, 404, { message: `not found: ${path}; the endpoints are POST /encode and POST /decode` });
    return;
  }
  if (req.method !== 'POST') {
    reply(res, 405, { message: `${path} takes POST` });
    return;
  }
  const body = await readBody(req);
  const payloads = parseRequest(body).map(fromJson);
  let out = payloads;
  if (path === '/encode') {
    for (const codec of options.codecs) out = await codec.encode(out);
  } else {
    for (const codec of [...options.codecs].reverse()) out = await codec.decode(out);
  }
  reply(res, 200, { payloads: out.map(toJson) });
}

function parseRequest(body: string): JsonPayload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error('the body is not JSON; expected {"payloads": [...]}');
  }
  const payloads = (parsed as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new Error('payloads: expected an array');
  return payloads as JsonPayload[];
}

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (v) metadata[k] = Buffer.from(v).toString('base64');
  }
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
