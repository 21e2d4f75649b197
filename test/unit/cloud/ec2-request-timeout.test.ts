// An EC2 endpoint that takes a call and never answers: the adapter gives up after its request timeout
// with a retryable Unavailable, instead of holding the step (which heartbeats while it waits) until the
// activity's start-to-close timeout. The endpoint is a real socket that accepts and stays silent.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ec2ComputeFromEnv } from '../../../src/cloud/ec2';
import { Unavailable } from '../../../src/cloud/errors';
import { TAG } from '../../../src/domain/cloud';

let silent: Server;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  // The SDK's default chain reads credentials from the process environment.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('an EC2 call that is never answered', () => {
  it('fails Unavailable (retryable) after CONVERGE_EC2_REQUEST_TIMEOUT_MS, naming the timeout', async () => {
    const ec2 = ec2ComputeFromEnv({
      CONVERGE_EC2_ENDPOINT: url,
      CONVERGE_EC2_REQUEST_TIMEOUT_MS: '300',
    });
    const took = performance.now();
    const error = await ec2.listServers({ [TAG.deployment]: 'silent' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Unavailable);
    expect((error as Unavailable).retryable).toBe(true);
    expect(String((error as Error).message)).toMatch(/timeout|timed out/i);
    // The call was sent: the endpoint holds its socket, so it was the answer that never came.
    expect(sockets.length).toBeGreaterThan(0);
    expect(performance.now() - took).toBeLessThan(60_000);
  });
});
