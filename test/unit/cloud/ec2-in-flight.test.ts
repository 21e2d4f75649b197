// The EC2 adapter's cap on calls in flight, on a real moto: however many reads the activities ask for
// at once, no more than the cap wait for answers; the rest wait in the adapter, where lookups batch,
// instead of in the SDK's socket pool (1,800 calls queued there made ec2-hotswap-200 stall).
import { describe, expect, it } from 'vitest';
import { TAG } from '../../../src/domain/cloud';
import { ec2Client, ec2ComputeOf, motoForFile, SKIP_MOTO } from '../../support/moto';

describe.skipIf(SKIP_MOTO)('EC2 calls in flight', () => {
  const m = motoForFile();

  it('sends at most `inFlight` calls at once and answers every one', async () => {
    const client = ec2Client(m.moto.url);
    let now = 0;
    let most = 0;
    let sent = 0;
    // Counts requests between the SDK's hand-off and the answer: what waits on the endpoint or its sockets.
    client.middlewareStack.add(
      (next) => async (args) => {
        now += 1;
        sent += 1;
        most = Math.max(most, now);
        try {
          return await next(args);
        } finally {
          now -= 1;
        }
      },
      { step: 'finalizeRequest', name: 'countInFlight' },
    );
    try {
      const ec2 = ec2ComputeOf(m.moto, { client, inFlight: 3 });
      // Volume lists by tags are not batched: 24 asked at once are 24 calls.
      const lists = await Promise.all(
        Array.from({ length: 24 }, (_, i) => ec2.listVolumes({ [TAG.deployment]: `in-flight-${i}` })),
      );
      expect(lists.every((l) => l.length === 0)).toBe(true);
      expect(sent).toBe(24);
      expect(most).toBe(3);
    } finally {
      client.destroy();
    }
  });
});
