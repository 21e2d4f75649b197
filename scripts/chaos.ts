// `npm run chaos [-- --short] [--seed N] [--scenario ID[,ID]] [--runs N] [--instances N] [--lanes N] [--keep]`:
// crashes and faults against the real embedded stack (see scripts/chaos/README.md). Prints a markdown
// table; exits 1 when any duplicate, leak, orphan or two-stage count is non-zero, a follow-up deploy
// does not converge, or a run breaks a rule of the design; 2 on bad flags.
import { Command, InvalidArgumentError } from 'commander';
import { killAllChildren } from './chaos/processes';
import { FULL, markdownTable, runChaos, SHORT, type ChaosOptions } from './chaos/run';
import { SCENARIO_IDS, type ScenarioId } from './chaos/scenarios';

const int = (name: string, min: number) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min)
    throw new InvalidArgumentError(`${name}: expected an integer >= ${min}, got ${text}`);
  return n;
};

const scenarioList = (text: string): ScenarioId[] => {
  const ids = text.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!(SCENARIO_IDS as readonly string[]).includes(id)) {
      throw new InvalidArgumentError(`unknown scenario '${id}' (expected: ${SCENARIO_IDS.join(', ')})`);
    }
  }
  return ids as ScenarioId[];
};

interface Flags {
  short?: boolean;
  seed: number;
  scenario?: ScenarioId[];
  runs?: number;
  instances?: number;
  lanes?: number;
  keep?: boolean;
}

const program = new Command('chaos')
  .description('Chaos harness: SIGKILL workers, Temporal and the region, inject region faults, race deploys')
  .option(
    '--short',
    'what npm test runs: one run per scenario, 12 instances, one broken operation each, 3 stacks at once',
  )
  .option('--seed <n>', 'base seed; a run is reproducible from it', int('--seed', 0), 1)
  .option('--scenario <ids>', `comma-separated subset of: ${SCENARIO_IDS.join(', ')}`, scenarioList)
  .option('--runs <n>', 'runs per scenario (overrides the mode default)', int('--runs', 1))
  .option('--instances <n>', 'instances in the deployment (default 30, short 12)', int('--instances', 3))
  .option(
    '--lanes <n>',
    'independent stacks to spread the scenarios over (default 1, short 3)',
    int('--lanes', 1),
  )
  .option('--keep', 'keep the temp dir (logs, databases) even when everything passed')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();

const flags = program.opts<Flags>();
const base = flags.short ? SHORT : FULL;
const options: ChaosOptions = {
  ...base,
  seed: flags.seed,
  ...(flags.scenario ? { scenarios: flags.scenario } : {}),
  ...(flags.runs !== undefined ? { runs: flags.runs } : {}),
  ...(flags.instances !== undefined ? { instances: flags.instances } : {}),
  ...(flags.lanes !== undefined ? { lanes: flags.lanes } : {}),
  keep: flags.keep ?? false,
  say: (line) => console.log(line),
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`chaos: ${signal}, stopping every child process`);
    killAllChildren();
    process.exit(130);
  });
}

const report = await runChaos(options);
console.log(`\n${markdownTable(report.rows)}\n`);
const kills = report.runs.reduce((n, r) => n + r.kills.worker, 0);
console.log(
  `seed ${options.seed}; ${report.runs.length} runs, ${kills} worker kills, ${(report.elapsedMs / 1000).toFixed(0)} s` +
    (report.ok ? '' : `; logs and databases kept in ${report.dir}`),
);
if (!report.ok) {
  console.log('FAILED:');
  for (const r of report.runs) for (const p of r.problems) console.log(`  ${r.scenario} run ${r.run}: ${p}`);
}
process.exit(report.ok ? 0 : 1);
