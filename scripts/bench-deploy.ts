// `npm run bench:deploy`: the figures of the runtime issue — a fresh deploy and a no-op redeploy of
// 100 and 1,000 instances on the embedded stack at zero cloud latency: wall time, workflow history
// events per instance, worker peak RSS. The same harness as `npm run bench`, fewer scenarios.
//   npm run bench:deploy -- [--sizes 100,1000] [--out file.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { machine, runDeployScenarios } from './bench';
import type { DeployRow, DeployScenario } from './bench/harness';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '100,1000' }, out: { type: 'string' } },
});
const sizes = values.sizes
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
if (sizes.length === 0) {
  process.stderr.write(`bench:deploy: --sizes: expected a comma-separated list of instance counts\n`);
  process.exit(2);
}

const scenarios: DeployScenario[] = sizes.flatMap((n) => [
  { name: `fresh-${n}`, kind: 'fresh' as const, instances: n },
  { name: `noop-${n}`, kind: 'noop' as const, instances: n },
]);
const rows = await runDeployScenarios(scenarios, {
  say: (line) => void process.stderr.write(`[bench:deploy] ${line}\n`),
});

const head = ['scenario', 'instances', 'status', 'wall', 'events/inst', 'worker peak RSS'];
const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const cell = (r: DeployRow): string[] => [
  r.scenario,
  r.instances.toLocaleString('en-US'),
  r.status,
  r.wallMs === null ? '–' : `${(r.wallMs / 1000).toFixed(2)} s`,
  r.eventsPerInstance === null ? '–' : r.eventsPerInstance.toFixed(2),
  r.workerPeakRssMb === null ? '–' : `${r.workerPeakRssMb.toFixed(0)} MB`,
];
process.stdout.write(
  `\n${[line(head), line(head.map((_, i) => (i < 3 ? '---' : '---:'))), ...rows.map((r) => line(cell(r)))].join('\n')}\n`,
);
if (values.out) {
  writeFileSync(
    values.out,
    `${JSON.stringify({ at: new Date().toISOString(), machine: machine(), rows }, null, 2)}\n`,
  );
}
