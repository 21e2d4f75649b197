// "Did you mean …?" for near-miss keys and names. Pure.

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions (`instnaces` → 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 0; i < rows; i++) set(d, i, 0, i);
  for (let j = 0; j < cols; j++) set(d, 0, j, j);
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      set(d, i, j, best);
    }
  }
  return at(a.length, b.length);
}

function set(d: number[][], i: number, j: number, v: number): void {
  const row = d[i];
  if (row !== undefined) row[j] = v;
}

/** How far a typo may stray: short words allow less, so `az` does not "mean" `os`. */
function tolerance(word: string): number {
  if (word.length <= 3) return 1;
  if (word.length <= 6) return 2;
  return 3;
}

/**
 * The closest candidate within a small distance, or null. Case is ignored for the distance.
 * A tie between two candidates gives no answer: `z3` is as close to `z1` as to `z2`, and guessing
 * one would mislead.
 */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const lower = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  let tied = false;
  for (const candidate of new Set(candidates)) {
    if (candidate === word) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance > tolerance(candidate)) continue;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
      tied = false;
    } else if (distance === bestDistance) {
      tied = true;
    }
  }
  return tied ? null : best;
}

/** "did you mean 'small'?" or null. */
export function didYouMean(word: string, candidates: Iterable<string>): string | null {
  const match = closest(word, candidates);
  return match === null ? null : `did you mean '${match}'?`;
}
