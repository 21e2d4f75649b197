// Whether OpenTelemetry tracing is on, from the standard OTEL_* variables, without loading
// OpenTelemetry (the CLI asks on every command). See tracing.ts for what is traced.
import type { Env } from './connection';

export const TRACING_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  [
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318): traces on; off when unset',
  ],
  ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'full OTLP/HTTP traces URL (…/v1/traces), instead of the above'],
  ['OTEL_SERVICE_NAME', 'service name on the spans (default converge-worker / converge-cli)'],
];

/** Traces are exported when an OTLP endpoint is configured, unless OTEL_TRACES_EXPORTER=none. */
export function tracingConfigured(env: Env): boolean {
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}
