// The benchmark's worker process: the production worker (src/workers/worker.ts) with the workflow
// bundle the harness built once, so each scenario's fresh worker starts in a second, not in ten.
// It drains on SIGTERM (and writes its --cpu-prof profile then) and stops when its parent goes away.
// BENCH_WORKER_OPTIONS (JSON) passes extra Worker options, for trying a tuning before adopting it.
import type { WorkerTuning } from '../../src/workers/tuning';
import { runWorker } from '../../src/workers/worker';

const WORKER_READY = 'bench worker ready'; // stack.ts waits for this line

process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();

// BENCH_MEMLOG: print the heap's composition whenever RSS reaches a new peak (what the peak is made of).
if (process.env.BENCH_MEMLOG) {
  let peak = 0;
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss <= peak + 16 * 2 ** 20) return;
    peak = m.rss;
    const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
    console.log(
      `mem rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`,
    );
  }, 250).unref();
}

const codePath = process.env.BENCH_WORKFLOW_BUNDLE;
const extra = process.env.BENCH_WORKER_OPTIONS
  ? (JSON.parse(process.env.BENCH_WORKER_OPTIONS) as Partial<WorkerTuning>)
  : undefined;
await runWorker({
  ...(codePath ? { workflowBundle: { codePath } } : {}),
  ...(extra ? { tuning: extra } : {}),
  onStarted: (info) => console.log(`${WORKER_READY}: task queue ${info.taskQueue} on ${info.address}`),
});
process.stdin.pause();
process.exit(0);
