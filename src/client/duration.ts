// Durations on the command line (`--since 2h`, `--expires 30d`): one grammar for every flag.
import { UserError } from '../domain/errors';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `45m`, `12h`, `30d` in ms, or null when `text` is not a duration (it may be a date). */
export function durationMs(text: string): number | null {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

/** A duration flag's value, or a user error naming the flag. */
export function parseDurationFlag(flag: string, text: string): number {
  const ms = durationMs(text);
  if (ms === null)
    throw new UserError(`${flag}: expected a duration such as 90s, 45m, 12h or 30d, got '${text}'`);
  return ms;
}
