// Where the worker finds the workflow code. Resolved from this file so it works from any cwd.
import { fileURLToPath } from 'node:url';

/** The workflow entry module (the deployment entity, the operation, their messages). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
