// `converge`: the command-line client. The command tree is ./program.ts; each command lives in its
// own module under ./commands.
import { CommanderError } from 'commander';
import { EXIT } from './exit-codes';
import { buildProgram } from './program';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // --help and --version end here with 0; every usage error (already printed) with 2.
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}
