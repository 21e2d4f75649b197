// region.yml validation and the `converge region` command line: user errors name the field, exit 2, no stack.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadRegionConfig,
  parseRegionConfig,
  type RegionConfigInput,
} from '../../src/region/config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'converge-region-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: RegionConfigInput = {
  pools: [{ name: 'dev', limits: { cpus: 1, memory_mb: 1, instances: 1 } }],
  azs: ['z1'],
  networks: [{ name: 'default', subnets: [{ range: '10.0.0.0/24', gateway: '10.0.0.1' }] }],
};

function problem(config: unknown): string {
  try {
    parseRegionConfig(config, 'region.yml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no error';
}

describe('region.yml', () => {
  it('accepts the example shipped in examples/region.yml', () => {
    const config = loadRegionConfig(join(ROOT, 'examples', 'region.yml'));
    expect(config.pools.map((p) => p.name)).toContain('dev');
    expect(config.storage_pools.some((p) => p.can_create)).toBe(true);
    expect(config.images.length).toBeGreaterThan(0);
  });

  const net = (subnet: Record<string, unknown>) => ({
    ...base,
    networks: [{ name: 'n', subnets: [{ range: '10.0.0.0/24', gateway: '10.0.0.1', ...subnet }] }],
  });
  const cases: [string, unknown, string][] = [
    ['an unknown top-level key', { ...base, flavours: [] }, 'region.yml: flavours: unknown field'],
    [
      'a missing limit',
      { ...base, pools: [{ name: 'p', limits: { cpus: 1, memory_mb: 1 } }] },
      'pools[0].limits.instances',
    ],
    [
      'a negative limit',
      { ...base, pools: [{ name: 'p', limits: { cpus: -1, memory_mb: 1, instances: 1 } }] },
      'pools[0].limits.cpus',
    ],
    [
      'a duplicate pool',
      { ...base, pools: [base.pools[0], base.pools[0]] },
      'pools[1].name: duplicate name dev',
    ],
    ['a bad CIDR', net({ range: '10.0.0.0/33' }), 'networks[0].subnets[0].range'],
    [
      'a gateway outside the range',
      net({ gateway: '10.9.0.1' }),
      'networks[0].subnets[0].gateway: not inside 10.0.0.0/24',
    ],
    [
      'a static range outside the subnet',
      net({ static: ['10.0.0.5', '10.0.1.1-10.0.1.5'] }),
      'networks[0].subnets[0].static[1]',
    ],
    [
      'a malformed reserved entry',
      net({ reserved: ['10.0.0.9-10.0.0.3'] }),
      'networks[0].subnets[0].reserved[0]',
    ],
    ['an unknown subnet az', net({ azs: ['z1', 'z7'] }), 'networks[0].subnets[0].azs[1]: unknown az z7'],
    [
      'overlapping subnets',
      {
        ...base,
        networks: [
          {
            name: 'n',
            subnets: [
              { range: '10.0.0.0/24', gateway: '10.0.0.1' },
              { range: '10.0.0.0/25', gateway: '10.0.0.2' },
            ],
          },
        ],
      },
      'networks[0].subnets[1].range: overlaps',
    ],
    [
      'a storage pool without can_create',
      { ...base, storage_pools: [{ name: 's', type: 'nfs', capacity_gb: 1 }] },
      'storage_pools[0].can_create',
    ],
    ['an image without version', { ...base, images: [{ os: 'x' }] }, 'images[0].version'],
  ];
  for (const [what, config, expected] of cases) {
    it(`names the field for ${what}`, () => {
      expect(problem(config)).toContain(expected);
    });
  }
});

interface Run<T> {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the probe returned; a run given a probe fails if the region never got to answer it. */
  probed: T | undefined;
}

/** Runs `converge region …` until it exits or prints its ready line (then runs `probe` and stops it). */
function runRegion<T = never>(
  args: string[],
  env: Record<string, string | undefined> = {},
  probe?: (url: string) => Promise<T>,
): Promise<Run<T>> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'converge.mjs'), 'region', ...args], {
    cwd: ROOT,
    env: { ...process.env, CONVERGE_REGION_TOKEN: undefined, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let probing: Promise<T> | undefined;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const m = /region listening on (\S+)/.exec(stdout);
    if (m?.[1] && probe && !probing) {
      probing = probe(m[1]);
      void probing.finally(() => child.kill('SIGTERM')).catch(() => undefined);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      clearTimeout(killer);
      if (probe && !probing) {
        reject(new Error(`the region never printed its ready line (exit ${code}): ${stderr}`));
        return;
      }
      (probing ?? Promise.resolve(undefined)).then(
        (probed) => resolve({ code, stdout, stderr, probed }),
        reject,
      );
    });
  });
}

/** The status of GET /v1/images with each bearer token. */
function statuses(url: string, ...tokens: string[]): Promise<number[]> {
  return Promise.all(
    tokens.map(
      async (t) => (await fetch(`${url}/v1/images`, { headers: { authorization: `Bearer ${t}` } })).status,
    ),
  );
}

describe('converge region (command line)', () => {
  it('exits 2 naming the field for a bad region.yml, without a stack trace', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(
      file,
      'pools: []\nazs: [z1]\nnetworks: [{name: n, subnets: [{range: 10.0.0.0/24, gateway: 10.0.0.1}]}]\n',
    );
    const run = await runRegion(['--port', '0', '--db', join(dir, 'a.db'), '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pools');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 naming the flag for a bad fault flag or port', async () => {
    const [rate, port] = await Promise.all([
      runRegion(['--port', '0', '--db', join(dir, 'b.db'), '--error-rate', '2']),
      runRegion(['--port', 'eighty', '--db', join(dir, 'b.db')]),
    ]);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain('--error-rate');
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port');
  });

  it('exits 2 when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const run = await runRegion(['--port', String(taken), '--db', join(dir, 'c.db')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('already in use');
    } finally {
      blocker.close();
    }
  });

  it('says in --help that the token defaults to dev-token, and accepts dev-token when none is given', async () => {
    const help = await runRegion(['--help']);
    expect(help.stdout).toContain('dev-token');
    expect(help.stdout).toContain('--stuck-build-rate');
    const run = await runRegion(['--port', '0', '--db', join(dir, 'd.db')], {}, (url) =>
      statuses(url, 'dev-token', 'other'),
    );
    expect(run.probed).toEqual([200, 401]);
    expect(run.code).toBe(0); // graceful SIGTERM
    expect(run.stdout).toMatch(/^region listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it('takes the token from CONVERGE_REGION_TOKEN, and --token over it', async () => {
    const fromEnv = await runRegion(
      ['--port', '0', '--db', join(dir, 'e.db')],
      { CONVERGE_REGION_TOKEN: 'from-env' },
      (url) => statuses(url, 'from-env', 'dev-token'),
    );
    expect(fromEnv.probed).toEqual([200, 401]);
    expect(fromEnv.code).toBe(0);
    const fromFlag = await runRegion(
      ['--port', '0', '--db', join(dir, 'f.db'), '--token', 'from-flag'],
      { CONVERGE_REGION_TOKEN: 'from-env' },
      (url) => statuses(url, 'from-flag', 'from-env'),
    );
    expect(fromFlag.probed).toEqual([200, 401]);
    expect(fromFlag.code).toBe(0);
  });
});
