// The SDK's client, behind a module of our own so that connection.ts can load it lazily: a dynamic
// import of the package itself would give, once the CLI is bundled, only the CommonJS module's default.
export { Client, Connection } from '@temporalio/client';
