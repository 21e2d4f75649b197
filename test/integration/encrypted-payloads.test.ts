// Encrypted payloads on the real stack: a worker and a client with a payload key deploy a manifest
// whose `env` holds a marker secret. The server's history holds only ciphertext (read raw, and with
// the Temporal CLI); with the key, the same history decodes to the marker. Rotation: a history
// written under key 1 stays readable once key 2 encrypts. The codec server decodes for the CLI.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { serveCodec } from '../../src/temporal/codec-server';
import { dataConverterFromEnv, payloadCodecsFromEnv } from '../../src/temporal/data-converter';
import { Deployments } from '../../src/client/deployments';
import { KEY_ID_METADATA } from '../../src/temporal/encryption-codec';
import { resolveTemporalCli } from '../../src/temporal/dev-server';
import { deploymentWorkflowId } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { regionForFile } from '../support/region';
import {
  closeTestConnections,
  createTestWorker,
  taskQueueFor,
  temporalAddress,
  temporalNamespace,
  testConnection,
} from '../support/temporal';
import { rawHistories } from '../support/histories';

const History = proto.temporal.api.history.v1.History;
const run = promisify(execFile);

const NAME = `sealed-${randomBytes(3).toString('hex')}`;
const MARKER = `marker-${randomBytes(8).toString('hex')}`;
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const KEY1 = key('k1');
const KEY2 = key('k2');
const ENV1 = { CONVERGE_PAYLOAD_KEYS: KEY1 };
const ENV12 = { CONVERGE_PAYLOAD_KEYS: `${KEY1},${KEY2}` };

const region = regionForFile({ faults: { build_ms: 30, delete_ms: 30 } });
afterAll(closeTestConnections);

function manifest(version: number) {
  return smallManifest(NAME, (m) => {
    for (const g of m.instance_groups) g.env = { DB_PASSWORD: MARKER, version };
  });
}

async function keyedDeployments(env: Record<string, string>, taskQueue: string): Promise<Deployments> {
  const client = new Client({
    connection: await testConnection(),
    namespace: temporalNamespace(),
    dataConverter: dataConverterFromEnv(env),
  });
  return new Deployments(client, { taskQueue, limits: { buildDeadlineMs: 60_000 } });
}

async function withWorker<T>(
  env: Record<string, string>,
  taskQueue: string,
  body: () => Promise<T>,
): Promise<T> {
  const worker: Worker = await createTestWorker({ taskQueue, cloud: region.client, env });
  return worker.runUntil(body);
}

/**
 * The payloads anywhere in a history (inputs, results, updates, signals, memos, failures' details),
 * except search attributes: the server indexes them, so no codec touches them (keep secrets out).
 */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const o = value as Record<string, unknown>;
  // A patch marker's details (the patch id, e.g. converge-watch) are written by the SDK's core, not
  // through the data converter: plain JSON, and nothing of the user's.
  if (o.markerName === 'core_patch') return found;
  if (o.data instanceof Uint8Array && typeof o.metadata === 'object' && o.metadata !== null) {
    found.push(o);
    return found;
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'searchAttributes') payloadsIn(v, found);
  return found;
}

async function decodedText(payloads: Payload[], codecs: PayloadCodec[]): Promise<string> {
  let out = payloads;
  for (const c of [...codecs].reverse()) out = await c.decode(out);
  return out.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8')).join('\n');
}

/** The CLI's JSON shows payload data in base64: the text of every `"data"` field. */
function payloadData(json: string): string {
  return [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]*)"/g)]
    .map((m) => Buffer.from(m[1] ?? '', 'base64').toString('latin1'))
    .join('\n');
}

const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());

describe('encrypted payloads', () => {
  const taskQueue = taskQueueFor('encrypted payloads');

  it('keeps a manifest env secret out of the server; readable with the key, and after rotation', async () => {
    // 1. Worker and client on key 1 deploy.
    const first = await withWorker(ENV1, taskQueue, async () => {
      const d = await keyedDeployments(ENV1, taskQueue);
      return d.wait(await d.deploy(NAME, { manifest: manifest(1), cloudConfig: cloudConfig() }));
    });
    expect(first.status).toBe('converged');

    const afterFirst = await rawHistories(taskQueue);
    expect(afterFirst.size).toBeGreaterThanOrEqual(2); // the entity and its operation
    const payloads1 = [...afterFirst.values()].flatMap((h) => payloadsIn(h));
    expect(payloads1.length).toBeGreaterThan(0);
    // Raw bytes: no marker, every payload encrypted under k1.
    for (const h of afterFirst.values()) {
      expect(Buffer.from(History.encode(h).finish()).toString('latin1')).not.toContain(MARKER);
    }
    expect(new Set(payloads1.map((p) => text(p.metadata?.[METADATA_ENCODING_KEY])))).toEqual(
      new Set(['binary/encrypted']),
    );
    expect(new Set(payloads1.map((p) => text(p.metadata?.[KEY_ID_METADATA])))).toEqual(new Set(['k1']));
    // Without a key (gzip only) nothing opens; with key 1 the marker is there.
    expect(await decodedText(payloads1, payloadCodecsFromEnv({}))).not.toContain(MARKER);
    expect(await decodedText(payloads1, payloadCodecsFromEnv(ENV1))).toContain(MARKER);

    // 2. Rotation: key 2 now encrypts. A fresh worker (empty cache) replays the entity's k1 history
    // and runs a second deploy; the client reads the k1-encoded result too.
    const second = await withWorker(ENV12, taskQueue, async () => {
      const d = await keyedDeployments(ENV12, taskQueue);
      return d.wait(await d.deploy(NAME, { manifest: manifest(2), cloudConfig: cloudConfig() }));
    });
    expect(second.status).toBe('converged');

    const afterSecond = [...(await rawHistories(taskQueue)).values()].flatMap((h) => payloadsIn(h));
    const sealed = afterSecond.filter(
      (p) => text(p.metadata?.[METADATA_ENCODING_KEY]) === 'binary/encrypted',
    );
    const ids = new Set(sealed.map((p) => text(p.metadata?.[KEY_ID_METADATA])));
    expect(ids).toEqual(new Set(['k1', 'k2']));
    // Anything the SDK writes past the codec (e.g. a cancelled watch pass's details) holds no secret.
    const open = afterSecond.filter((p) => !sealed.includes(p));
    expect(
      open.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('latin1')).join('\n'),
    ).not.toContain(MARKER);
    const all = await decodedText(afterSecond, payloadCodecsFromEnv(ENV12));
    expect(all).toContain(MARKER);
    expect(all).toContain('"version":2');
    // The region's bearer token reaches the worker through its environment only: in no payload, even
    // decoded, and in no raw history.
    expect(all).not.toContain(region.token);
    for (const h of (await rawHistories(taskQueue)).values()) {
      expect(Buffer.from(History.encode(h).finish()).toString('latin1')).not.toContain(region.token);
    }
    // With key 2 alone the k1 part of the history cannot be read, and the error names the key id.
    await expect(
      decodedText(afterSecond, payloadCodecsFromEnv({ CONVERGE_PAYLOAD_KEYS: KEY2 })),
    ).rejects.toThrow(/key id "k1", which is not configured here/);
  });

  it('the Temporal CLI sees ciphertext, and the marker through the codec server', async () => {
    const cli = resolveTemporalCli();
    const show = (extra: string[]) =>
      run(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          deploymentWorkflowId(NAME),
          '--output',
          'json',
          '--address',
          temporalAddress(),
          '--namespace',
          temporalNamespace(),
          ...extra,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      ).then((r) => r.stdout);
    const plain = await show([]);
    expect(plain).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(plain).not.toContain(MARKER);
    expect(payloadData(plain)).not.toContain(MARKER);

    const server = await serveCodec({ codecs: payloadCodecsFromEnv(ENV12), port: 0, origins: [] });
    try {
      const decoded = await show(['--codec-endpoint', `http://127.0.0.1:${server.port}`]);
      expect(decoded).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
      expect(payloadData(decoded)).toContain(MARKER);
    } finally {
      await server.close();
    }
  });

  it('the codec server round-trips a payload over HTTP, with CORS for the UI origin', async () => {
    const origin = 'http://127.0.0.1:8233';
    const server = await serveCodec({ codecs: payloadCodecsFromEnv(ENV12), port: 0, origins: [origin] });
    const base = `http://127.0.0.1:${server.port}`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: origin, 'X-Namespace': 'default' },
        body: JSON.stringify(body),
      });
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      return {
        status: res.status,
        json: (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] },
      };
    };
    try {
      const plainPayload = {
        metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from(JSON.stringify({ secret: MARKER })).toString('base64'),
      };
      const encoded = await post('/encode', { payloads: [plainPayload] });
      expect(encoded.status).toBe(200);
      const sealed = encoded.json.payloads[0]!;
      expect(Buffer.from(sealed.metadata[KEY_ID_METADATA]!, 'base64').toString()).toBe('k2');
      expect(Buffer.from(sealed.data, 'base64').toString('latin1')).not.toContain(MARKER);
      const decoded = await post('/decode', { payloads: [sealed] });
      expect(decoded.json.payloads).toEqual([plainPayload]);

      const preflight = await fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
      const stranger = await fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://evil.example' },
      });
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

      const bad = await fetch(`${base}/decode`, { method: 'POST', body: '{"payloads": 1}' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('payloads: expected an array');
    } finally {
      await server.close();
    }
  });
});
