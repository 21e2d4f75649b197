// Runs activities the way a worker would, against a real region process: each run in its own
// MockActivityEnvironment, heartbeats recorded, and (for retries) the last heartbeat handed to the
// next attempt as Temporal does. Nothing here fakes the cloud.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { expect } from 'vitest';
import type { CreateVmInput } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';

export interface Run<T> {
  value: T;
  heartbeats: unknown[];
}

export interface RunOptions {
  /** What Temporal would pass as the previous attempt's last heartbeat. */
  resume?: unknown;
  onHeartbeat?: (details: unknown) => void;
  /** When the activity's first attempt was scheduled (failure budgets count from it); default now. */
  scheduledAt?: number;
}

/** One activity attempt. */
export async function runActivity<A extends unknown[], T>(
  fn: (...args: A) => Promise<T>,
  args: A,
  options: RunOptions = {},
): Promise<Run<T>> {
  // As a worker would see it: scheduled just now unless told otherwise (the mock's own default is
  // the epoch, which would put every failure budget far in the past).
  const scheduledTimestampMs = options.scheduledAt ?? Date.now();
  const env = new MockActivityEnvironment({
    scheduledTimestampMs,
    currentAttemptScheduledTimestampMs: Date.now(),
    ...(options.resume === undefined ? {} : { heartbeatDetails: options.resume }),
  });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => {
    heartbeats.push(details);
    options.onHeartbeat?.(details);
  });
  const value = await env.run<A, T, typeof fn>(fn, ...args);
  return { value, heartbeats };
}

/** One attempt that must fail; returns the failure (an ApplicationFailure, or the test fails). */
export async function failActivity<A extends unknown[], T>(
  fn: (...args: A) => Promise<T>,
  args: A,
  options: RunOptions = {},
): Promise<ApplicationFailure> {
  try {
    await runActivity(fn, args, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the activity to fail');
}

export interface Retried<T> {
  value: T;
  /** Retryable failures seen before the success. */
  failures: ApplicationFailure[];
}

/**
 * Temporal's retry loop in small: retry retryable ApplicationFailures (resuming from the last
 * heartbeat), stop at a non-retryable one, and treat anything else as a bug.
 */
export async function withRetries<A extends unknown[], T>(
  fn: (...args: A) => Promise<T>,
  args: A,
  maxAttempts = 60,
): Promise<Retried<T>> {
  const failures: ApplicationFailure[] = [];
  let resume: unknown;
  const scheduledAt = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    const heartbeats: unknown[] = [];
    try {
      const run = await runActivity(fn, args, {
        resume,
        scheduledAt,
        onHeartbeat: (d) => heartbeats.push(d),
      });
      return { value: run.value, failures };
    } catch (err) {
      if (!(err instanceof ApplicationFailure)) throw err;
      if (err.nonRetryable || attempt >= maxAttempts) throw err;
      failures.push(err);
      if (heartbeats.length > 0) resume = heartbeats[heartbeats.length - 1];
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A region config a test can reason about: small pools, known storage, one image. */
export function regionConfig(
  storagePools: { name: string; type: string; can_create: boolean; capacity_gb: number }[] = [],
) {
  return {
    pools: [
      { name: 'dev', limits: { cpus: 1000, memory_mb: 1_000_000, instances: 500 } },
      { name: 'tiny', limits: { cpus: 2, memory_mb: 2048, instances: 1 } },
    ],
    azs: ['z1', 'z2'],
    networks: [
      {
        name: 'default',
        subnets: [{ range: '10.1.0.0/22', gateway: '10.1.0.1', static: ['10.1.0.10-10.1.0.30'] }],
      },
    ],
    storage_pools: storagePools,
    images: [{ os: 'ubuntu-jammy', version: '1.181' }],
  };
}

/** A create-vm step's input for `<group>/<index>` of a deployment. */
export function vmInput(
  deployment: string,
  claim: string,
  overrides: Partial<CreateVmInput> = {},
): CreateVmInput {
  const [group = 'api', index = '0'] = claim.split('/');
  return {
    deployment,
    operation: 'op-1',
    claim,
    pool: 'dev',
    quota: { cpus: 1, memory_mb: 512, instances: 1 },
    spec: {
      name: `${deployment}-${group}-${index}`,
      cpus: 1,
      memory_mb: 512,
      disk_gb: 5,
      image: { os: 'ubuntu-jammy', version: '1.181' },
      az: 'z1',
      network: 'default',
      static_ip: null,
      tags: {
        [TAG.deployment]: deployment,
        [TAG.group]: group,
        [TAG.index]: index,
        [TAG.claim]: claim,
        [TAG.fingerprint]: 'fp-1',
      },
      user_data: '#cloud-config\n',
    },
    ...overrides,
  };
}

/** Unique deployment names per test, so tests sharing one region never see each other's objects. */
let counter = 0;
export function deploymentName(label: string): string {
  counter += 1;
  return `${label}-${counter}`;
}
