// One region client per process (Unikorn's TODO: do not rebuild the client, and its sockets, per call).
// Credentials come from the worker's environment only; they never enter workflow inputs or logs.
import { RegionClient } from './region-client';

export { RegionClient, type RegionClientOptions } from './region-client';
export * from './errors';
export type * from './port';

export const DEFAULT_REGION_URL = 'http://127.0.0.1:7480';
/** The token `converge region` accepts when started without --token or CONVERGE_REGION_TOKEN. */
export const DEV_REGION_TOKEN = 'dev-token';

type Env = Record<string, string | undefined>;

let cached: { url: string; token: string; client: RegionClient } | undefined;

/**
 * The process-wide client for CONVERGE_REGION_URL / CONVERGE_REGION_TOKEN. Asking again with the same
 * settings returns the same client; different settings (a test pointing elsewhere) replace it.
 */
export function cloudFromEnv(env: Env = process.env): RegionClient {
  const url = env.CONVERGE_REGION_URL || DEFAULT_REGION_URL;
  const token = env.CONVERGE_REGION_TOKEN || DEV_REGION_TOKEN;
  if (cached && cached.url === url && cached.token === token) return cached.client;
  cached?.client.close();
  const timeout = Number(env.CONVERGE_REGION_TIMEOUT_MS);
  const client = new RegionClient({ url, token, ...(timeout > 0 ? { timeoutMs: timeout } : {}) });
  cached = { url, token, client };
  return client;
}
