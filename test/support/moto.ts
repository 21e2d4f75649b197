// A REAL EC2 API server for the EC2 suites: moto's server mode (PyPI moto[server], installed by
// scripts/moto.sh), started on a free port on 127.0.0.1 with fresh state, stopped after the file.
// Also: the VPC, subnets and AMIs a test's cloud config points at, made through the SDK.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../scripts/chaos/processes';
import { Ec2Compute, STEMCELL_TAG, stemcellImageName } from '../../src/cloud/ec2';
import type { Image } from '../../src/domain/cloud';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** Credentials moto accepts; real ones never come near a test. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing-key-id', secretAccessKey: 'testing-secret-not-real' };
export const MOTO_REGION = 'us-east-1';

/** CONVERGE_SKIP_MOTO=1 (set when setup skipped the install) skips the EC2 suites; nothing else does. */
export const SKIP_MOTO = process.env.CONVERGE_SKIP_MOTO === '1';

export interface MotoHandle {
  readonly url: string;
  /** An SDK client of this moto. */
  readonly client: EC2Client;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** The moto_server binary (scripts/moto.sh installs it the first time). */
export function motoServerPath(): string {
  return execFileSync('bash', [`${ROOT}/scripts/moto.sh`], { encoding: 'utf8' }).trim();
}

export function ec2Client(url: string): EC2Client {
  return new EC2Client({ region: MOTO_REGION, endpoint: url, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
}

export async function startMoto(): Promise<MotoHandle> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const server = motoServerPath();
  const port = await freePort();
  const child = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  // CONVERGE_MOTO_LOG=<file>: moto's own log (its tracebacks explain a 500) for a failing run.
  const log = process.env.CONVERGE_MOTO_LOG;
  const keep = (d: string): void => {
    if (output.length < 100_000) output += d;
    if (log) appendFileSync(log, d);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (code ${child.exitCode})\n${output}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer within ${START_TIMEOUT_MS} ms\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const client = ec2Client(url);
  return {
    url,
    client,
    async stop() {
      client.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** moto for the whole test file: started in beforeAll, stopped in afterAll. */
export function motoForFile(): { readonly moto: MotoHandle } {
  let started: MotoHandle | undefined;
  beforeAll(async () => {
    started = await startMoto();
  }, START_TIMEOUT_MS + 10_000);
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

export interface Ec2Network {
  vpcId: string;
  /** One subnet per AZ, in the order asked for. */
  subnets: { zone: string; id: string; cidr: string }[];
}

/** A VPC and one subnet per zone (CIDRs given), as a cloud config's networks would name them. */
export async function makeNetwork(
  client: EC2Client,
  vpcCidr: string,
  subnets: readonly { zone: string; cidr: string }[],
): Promise<Ec2Network> {
  const vpc = await client.send(new CreateVpcCommand({ CidrBlock: vpcCidr }));
  const vpcId = vpc.Vpc?.VpcId ?? '';
  const made: Ec2Network['subnets'] = [];
  for (const s of subnets) {
    const out = await client.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: s.cidr, AvailabilityZone: s.zone }),
    );
    made.push({ zone: s.zone, id: out.Subnet?.SubnetId ?? '', cidr: s.cidr });
  }
  return { vpcId, subnets: made };
}

/** Registers an AMI for a stemcell, tagged as the adapter looks for it (README: "Stemcells"). */
export async function registerStemcell(client: EC2Client, image: Image): Promise<string> {
  const out = await client.send(
    new RegisterImageCommand({
      Name: stemcellImageName(image),
      RootDeviceName: '/dev/sda1',
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
    }),
  );
  const imageId = out.ImageId ?? '';
  await client.send(
    new CreateTagsCommand({
      Resources: [imageId],
      Tags: [
        { Key: STEMCELL_TAG.os, Value: image.os },
        { Key: STEMCELL_TAG.version, Value: image.version },
      ],
    }),
  );
  return imageId;
}
