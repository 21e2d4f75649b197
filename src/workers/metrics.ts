// Worker metrics in Prometheus format: the Temporal SDK's own (temporal_*: task latencies, slots,
// polls, sticky cache) and Converge's (converge_*), served by the Runtime's exporter at
// http://CONVERGE_METRICS_ADDRESS/metrics. Off unless the address is set; `converge dev up` sets it.
// Counters recorded in workflow code (operations, steps) go through the workflow's metric meter,
// which the SDK drops during replay, so a replayed history never counts twice.
import type { MetricMeter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { CloudError } from '../cloud/errors';
import type { Env } from '../temporal/connection';
import { UserError } from '../domain/errors';

export const METRICS_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  [
    'CONVERGE_METRICS_ADDRESS',
    'host:port to serve Prometheus metrics on (/metrics); off when unset (converge dev up: 127.0.0.1:9464)',
  ],
];

/** The metrics the worker adds to the SDK's, with their labels (documented in src/workers/README.md). */
export const CONVERGE_METRICS = {
  operations: 'converge_operations',
  steps: 'converge_steps',
  activityRetries: 'converge_activity_retries',
  cloudRequests: 'converge_cloud_requests',
  cloudErrors: 'converge_cloud_errors',
} as const;

/** CONVERGE_METRICS_ADDRESS as host:port, or null when metrics are off; a bad value is a user error. */
export function metricsAddressFromEnv(env: Env): string | null {
  const raw = env.CONVERGE_METRICS_ADDRESS?.trim();
  if (raw === undefined || raw === '') return null;
  const match = /^(.+):(\d+)$/.exec(raw);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(
      `CONVERGE_METRICS_ADDRESS: expected host:port (e.g. 127.0.0.1:9464), got "${raw}"`,
      2,
    );
  }
  return raw;
}

/**
 * The cloud (any adapter: region, EC2) with every call counted by name (`converge_cloud_requests{call}`) and every failure
 * by name and kind (`converge_cloud_errors{call,kind}`: the typed CloudError's class, e.g. NotFound,
 * Unavailable; `Error` for anything else). Calls pass through unchanged.
 */
export function meteredCloud<T extends object>(cloud: T, meter: MetricMeter): T {
  const requests = meter.createCounter(
    CONVERGE_METRICS.cloudRequests,
    'requests',
    'Cloud API calls, by call',
  );
  const errors = meter.createCounter(
    CONVERGE_METRICS.cloudErrors,
    'errors',
    'Cloud API calls that failed, by call and kind',
  );
  return new Proxy(cloud, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const call = value as (...args: unknown[]) => unknown;
      return async (...args: unknown[]): Promise<unknown> => {
        requests.add(1, { call: prop });
        try {
          return await call.apply(target, args);
        } catch (err) {
          const kind = err instanceof CloudError ? err.name : 'Error';
          errors.add(1, { call: prop, kind });
          throw err;
        }
      };
    },
  });
}

/** Counts activity attempts after the first (`converge_activity_retries{activity}`): Temporal's retries. */
export const retryCounting: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute(input, next) {
      if (ctx.info.attempt > 1) {
        ctx.metricMeter
          .createCounter(CONVERGE_METRICS.activityRetries, 'attempts', 'Activity attempts after the first')
          .add(1, { activity: ctx.info.activityType });
      }
      return next(input);
    },
  },
});
