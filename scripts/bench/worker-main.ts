// The benchmark's worker process: the production worker (src/workers/worker.ts) with the workflow
// bundle the harness built once, so each scenario's fresh worker starts in a second, not in ten.
// It drains on SIGTERM (and writes its --cpu-prof profile then) and stops when its parent goes away.
import { runWorker } from '../../src/workers/worker';

const WORKER_READY = 'bench worker ready'; // stack.ts waits for this line

process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();

const codePath = process.env.BENCH_WORKFLOW_BUNDLE;
await runWorker({
  ...(codePath ? { workflowBundle: { codePath } } : {}),
  onStarted: (info) => console.log(`${WORKER_READY}: task queue ${info.taskQueue} on ${info.address}`),
});
process.stdin.pause();
process.exit(0);
