// `converge`: the command-line client. Each command lives in its own module under ./commands.
import { Command } from 'commander';
import { registerPlan } from './commands/plan';
import { registerRegion } from './commands/region';
import { registerWorker } from './commands/worker';
import { registerDev } from './commands/dev';
import { registerDeployments } from './commands/deployments';

const program = new Command('converge')
  .description('A durable VM deployment director on Temporal: patent → embodiment → obligation.')
  .showHelpAfterError()
  .enablePositionalOptions();

registerPlan(program);
registerDeployments(program);
registerRegion(program);
registerWorker(program);
registerDev(program);

await program.parseAsync(process.argv);
