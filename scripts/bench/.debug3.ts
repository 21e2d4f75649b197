import { connectClient } from '../../src/client/connection';
import { Deployments } from '../../src/client/deployments';
import { benchCloudConfig, benchManifest } from './inputs';
import { startStack, startWorker, setFaults, NAMESPACE } from './stack';
const n = Number(process.argv[2] ?? 1000);
const stack = await startStack({ say: console.error, keepDir: true });
const { client, connection } = await connectClient({ TEMPORAL_ADDRESS: stack.temporal.address, TEMPORAL_NAMESPACE: NAMESPACE });
const d = new Deployments(client, { taskQueue: 'converge-bench' });
await setFaults(stack, { build_ms: 0, delete_ms: 0, latency_ms: 0 });
let worker = await startWorker(stack, { taskQueue: 'converge-bench' });
const m = benchManifest(`bench-${n}`, n);
let t0 = Date.now();
let r = await d.wait(await d.deploy(m.name, { manifest: m, cloudConfig: benchCloudConfig }));
console.log('fresh', r.status, Date.now() - t0);
const st = await d.status(m.name).catch(e => String(e));
console.log('status current', typeof st === 'string' ? st : st.current);
const desc = await client.workflow.getHandle(`deployment/${m.name}`).describe();
console.log('pending wft', desc.raw.pendingWorkflowTask);
await worker.stop();
worker = await startWorker(stack, { taskQueue: 'converge-bench' });
t0 = Date.now();
try { r = await d.wait(await d.deploy(m.name, { manifest: m, cloudConfig: benchCloudConfig })); console.log('noop new worker', r.status, Date.now() - t0); } catch (e) { console.log('noop new worker failed', Date.now() - t0, String(e)); }
const h = await client.workflow.getHandle(`deployment/${m.name}`).fetchHistory();
const ts = (e: any) => Number(e.eventTime.seconds) * 1000 + Math.floor(e.eventTime.nanos / 1e6);
const s0 = ts(h.events![0]);
for (const e of h.events!) { const k = Object.keys(e).find(k => k.endsWith('Attributes'))!; const a: any = (e as any)[k]; console.log(String(e.eventId).padStart(4), String(ts(e) - s0).padStart(7), k.replace('EventAttributes',''), a?.failure?.message ?? a?.cause ?? a?.timeoutType ?? ''); }
await connection.close(); await worker.stop(); await stack.stop();
