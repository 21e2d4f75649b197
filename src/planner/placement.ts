// AZ placement for one group (BOSH's balance rule): existing instances keep their AZ while it is
// still allowed; every other index goes to the allowed AZ holding the fewest instances so far,
// ties broken by the order the manifest lists the AZs. A fresh group is thus round-robin.

/**
 * @param azs the group's AZs in manifest order
 * @param existing index → AZ where an instance already lives
 * @param allowed the AZs an index may use (e.g. those a static IP's subnet serves); default: all
 */
export function placeAzs(
  azs: readonly string[],
  count: number,
  existing: ReadonlyMap<number, string>,
  allowed: (index: number) => readonly string[] = () => azs,
): string[] {
  const load = new Map<string, number>(azs.map((az) => [az, 0]));
  const placed: (string | undefined)[] = new Array<string | undefined>(count);
  // First every kept instance, so that the free indices balance around them.
  for (let index = 0; index < count; index++) {
    const az = existing.get(index);
    if (az !== undefined && allowed(index).includes(az) && load.has(az)) {
      placed[index] = az;
      load.set(az, (load.get(az) ?? 0) + 1);
    }
  }
  for (let index = 0; index < count; index++) {
    if (placed[index] !== undefined) continue;
    const options = allowed(index);
    const candidates = options.length > 0 ? options : azs;
    let best: string | undefined;
    let bestLoad = Infinity;
    for (const az of azs) {
      if (!candidates.includes(az)) continue;
      const n = load.get(az) ?? 0;
      if (n < bestLoad) {
        best = az;
        bestLoad = n;
      }
    }
    // Allowed AZs outside the group's list cannot happen for validated input; fall back to the first.
    const az = best ?? candidates[0] ?? azs[0] ?? '';
    placed[index] = az;
    load.set(az, (load.get(az) ?? 0) + 1);
  }
  return placed.map((az) => az ?? '');
}
