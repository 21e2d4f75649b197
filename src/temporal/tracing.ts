// OpenTelemetry traces, one trace per operation: the CLI's update (deploy, stop, …) starts it, the
// deployment entity and the operation workflow continue it (the SDK's workflow interceptors, built
// into the traced workflow bundle), and every activity is a span under its workflow. Spans go to the
// OTLP/HTTP endpoint of the standard OTEL_* variables (tracing-env.ts); off unless configured.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  OpenTelemetryPlugin,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { Env } from './connection';

export interface Tracing {
  /** Flushes the spans not yet exported and stops exporting. */
  shutdown: () => Promise<void>;
}

function provider(
  env: Env,
  defaultService: string,
): { provider: BasicTracerProvider; resource: Resource; processor: BatchSpanProcessor } {
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || defaultService });
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter());
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // Global: the SDK's interceptors take their tracer, the active span (across awaits) and the
  // header format (W3C traceparent) from the globals.
  tracerProvider.register({
    contextManager: new AsyncLocalStorageContextManager(),
    propagator: new W3CTraceContextPropagator(),
  });
  return { provider: tracerProvider, resource, processor };
}

/** The worker's plugin (client, activity and workflow-span export) and its provider. */
export function workerTracing(env: Env): Tracing & { plugin: OpenTelemetryPlugin } {
  const { provider: p, resource, processor } = provider(env, 'converge-worker');
  return {
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor: processor }),
    shutdown: () => p.shutdown(),
  };
}

/** The client interceptor that starts an operation's trace, and its provider. */
export function clientTracing(env: Env): Tracing & { interceptor: OpenTelemetryWorkflowClientInterceptor } {
  const { provider: p } = provider(env, 'converge-cli');
  return { interceptor: new OpenTelemetryWorkflowClientInterceptor(), shutdown: () => p.shutdown() };
}
