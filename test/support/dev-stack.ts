// The environment for a `converge dev` stack of a test file's own: its own directory and free ports
// (metrics too, so two files never fight over 9464), and none of the caller's Temporal or region
// settings, so every command the file runs reaches that stack and nothing else.
import { freePort } from '../../scripts/chaos/processes';

export interface DevStackPorts {
  temporal: number;
  ui: number;
  codec: number;
  region: number;
  metrics: number;
}

const INHERITED = [
  'CONVERGE_TASK_QUEUE',
  'CONVERGE_REGION_URL',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  // The CLI's payload keys are then the stack's own key file (payload-keys.ts).
  'CONVERGE_PAYLOAD_KEYS',
  'CONVERGE_PAYLOAD_KEY_FILE',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_TRACES_EXPORTER',
  'OTEL_SERVICE_NAME',
];

export async function devStackEnv(
  dir: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<{ env: NodeJS.ProcessEnv; ports: DevStackPorts }> {
  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    codec: await freePort(),
    region: await freePort(),
    metrics: await freePort(),
  };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED) delete env[name];
  Object.assign(env, {
    CONVERGE_DEBUG: '',
    CONVERGE_DEV_DIR: dir,
    CONVERGE_TEMPORAL_PORT: String(ports.temporal),
    CONVERGE_UI_PORT: String(ports.ui),
    CONVERGE_CODEC_PORT: String(ports.codec),
    CONVERGE_REGION_PORT: String(ports.region),
    CONVERGE_METRICS_PORT: String(ports.metrics),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
    ...extra,
  });
  return { env, ports };
}
