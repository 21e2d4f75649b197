// Workflow entry points registered with the worker.
export { deployment } from './deployment';
export { operation } from './operation';
export { callbackOutbox } from './callbacks';
