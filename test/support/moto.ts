// A REAL EC2 API server for the EC2 suites: moto's server mode (scripts/moto-server.ts), started on
// a free port on 127.0.0.1 with fresh state, stopped after the file, with an SDK client of its own.
// Also: the VPC, subnets and AMIs a test's cloud config points at.
import { appendFileSync } from 'node:fs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll } from 'vitest';
import { ec2Client, MOTO_START_TIMEOUT_MS, startMotoServer } from '../../scripts/moto-server';
import { Ec2Compute } from '../../src/cloud/ec2';

export {
  ec2Client,
  makeNetwork,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoServerPath,
  type Ec2Network,
} from '../../scripts/moto-server';
export { registerStemcellImage as registerStemcell } from '../../src/cloud/ec2';

/** CONVERGE_SKIP_MOTO=1 (set when setup skipped the install) skips the EC2 suites; nothing else does. */
export const SKIP_MOTO = process.env.CONVERGE_SKIP_MOTO === '1';

export interface MotoHandle {
  readonly url: string;
  /** An SDK client of this moto. */
  readonly client: EC2Client;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<MotoHandle> {
  // CONVERGE_MOTO_LOG=<file>: moto's own log (its tracebacks explain a 500) for a failing run.
  const log = process.env.CONVERGE_MOTO_LOG;
  const server = await startMotoServer({ onOutput: log ? (d) => appendFileSync(log, d) : undefined });
  const client = ec2Client(server.url);
  return {
    url: server.url,
    client,
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

/** moto for the whole test file: started in beforeAll, stopped in afterAll. */
export function motoForFile(): { readonly moto: MotoHandle } {
  let started: MotoHandle | undefined;
  beforeAll(async () => {
    started = await startMoto();
  }, MOTO_START_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await started?.stop();
  });
  return {
    get moto() {
      if (!started) throw new Error('moto starts in beforeAll; use it inside a test or hook');
      return started;
    },
  };
}

/** The EC2 adapter against this moto, with a rate no test waits on unless it asks for one. */
export function ec2ComputeOf(
  moto: MotoHandle,
  options: Partial<ConstructorParameters<typeof Ec2Compute>[0]> = {},
): Ec2Compute {
  return new Ec2Compute({
    client: moto.client,
    rate: { perSecond: 1000, burst: 1000 },
    settlePollMs: 50,
    ...options,
  });
}
