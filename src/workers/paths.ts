// Where the worker finds the workflow code. Resolved from the package root so it works from any cwd,
// from src/ and from dist/.
import { join } from 'node:path';
import { packageRoot } from '../package-root';

/** The workflow entry module (the deployment entity, the operation, their messages). */
export const WORKFLOWS_PATH = join(packageRoot(), 'src', 'workflows', 'index.ts');

/** The payload converter bundled into the workflow code (src/temporal/workflow-payload-converter.ts). */
export const WORKFLOW_PAYLOAD_CONVERTER_PATH = join(
  packageRoot(),
  'src',
  'temporal',
  'workflow-payload-converter.ts',
);
