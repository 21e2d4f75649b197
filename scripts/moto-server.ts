// moto's EC2 API server as tests and the bench run it: moto_server (scripts/moto.sh installs it the
// first time) on a free port of 127.0.0.1 with fresh state, killed if this process exits first; and
// the VPC and subnets a cloud config points at, made through the SDK.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { freePort } from './chaos/processes';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MOTO_START_TIMEOUT_MS = 60_000;

/** Credentials moto accepts; real ones never come near a test or the bench. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing-key-id', secretAccessKey: 'testing-secret-not-real' };
export const MOTO_REGION = 'us-east-1';

export interface MotoServer {
  readonly url: string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** The moto_server binary (scripts/moto.sh installs it the first time). */
export function motoServerPath(): string {
  return execFileSync('bash', [`${ROOT}/scripts/moto.sh`], { encoding: 'utf8' }).trim();
}

/** An SDK client for this moto: its credentials, no SDK retries (the adapter decides retries). */
export function ec2Client(url: string): EC2Client {
  return new EC2Client({ region: MOTO_REGION, endpoint: url, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
}

/** Starts moto and waits until it answers; `onOutput` receives what it prints (for failure messages). */
export async function startMotoServer(
  options: { cwd?: string; onOutput?: (text: string) => void } = {},
): Promise<MotoServer> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const port = await freePort();
  const child = spawn(motoServerPath(), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  live.add(child);
  let output = '';
  const keep = (d: string): void => {
    if (output.length < 100_000) output += d;
    options.onOutput?.(d);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + MOTO_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (code ${child.exitCode})\n${output}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer within ${MOTO_START_TIMEOUT_MS} ms\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
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
