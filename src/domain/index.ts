// The domain in one import: schemas, types, input loading and validation. Pure (workflow-safe).
export * from './manifest';
export * from './cloud-config';
export * from './cloud';
export * from './instance';
export * from './activities';
export * from './errors';
export * from './ip';
export * from './suggest';
export * from './load';
export * from './validate';
