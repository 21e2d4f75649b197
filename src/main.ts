// `converge`: parses argv with the command tree of ./program.ts (what bin/converge.mjs runs, through
// dist/cli.js).
import { CommanderError } from 'commander';
import { EXIT } from './domain/exit-codes';
import { buildProgram } from './program';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // --help and --version end here with 0; every usage error (already printed) with 2.
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}
