// The CLI's JSON output has one key style, snake_case (as the manifest's own keys and the plan's
// JSON). Workflow views are camelCase TypeScript; this converts their keys on the way out. Only for
// values whose keys are all field names, never user data (tags, cloud_properties keep their keys).

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), snakeKeys(v)]));
}

/** Indented JSON with snake_case keys. */
export function toJson(value: unknown): string {
  return JSON.stringify(snakeKeys(value), null, 2);
}
