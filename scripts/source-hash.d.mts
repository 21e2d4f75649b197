/** See scripts/source-hash.mjs. */
export function sourceHash(root: string): string;
