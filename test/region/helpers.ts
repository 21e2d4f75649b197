// Shared bits for the region API tests: raw HTTP (to send what the typed client never would) and requests.
import { randomUUID } from 'node:crypto';
import type { CreateServerRequest } from '../../src/cloud/port';
import type { RegionHandle } from '../support/region';

export interface RawReply {
  status: number;
  body: unknown;
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> } | undefined;
}

/** Sends exactly what it is given; `body` strings go out verbatim (for malformed JSON). */
export async function raw(
  region: RegionHandle,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = region.token,
): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${region.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  const error = (parsed as { error?: RawReply['error'] } | undefined)?.error;
  return { status: res.status, body: parsed, error };
}

/** A unique deployment tag, so tests sharing one region never see each other's servers. */
export function deploymentTag(): Record<string, string> {
  return { 'converge.deployment': `d-${randomUUID().slice(0, 8)}` };
}

export function serverRequest(overrides: Partial<CreateServerRequest> = {}): CreateServerRequest {
  return {
    name: 'web-0',
    cpus: 2,
    memory_mb: 2048,
    disk_gb: 10,
    image: { os: 'ubuntu-jammy', version: '1.181' },
    az: 'z1',
    network: 'default',
    tags: {},
    idempotency_key: `key-${randomUUID()}`,
    ...overrides,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
