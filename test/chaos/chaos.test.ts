// The short chaos run inside `npm test` (= `npm run chaos -- --short --seed 1`): every scenario once,
// against its own real Temporal dev server (SQLite), region and worker processes. DESIGN §9 must hold
// after every operation, and every follow-up deploy must converge.
import { describe, expect, it } from 'vitest';
import { markdownTable, runChaos, SHORT } from '../../scripts/chaos/run';

describe('chaos (short)', () => {
  it('crashes, faults and racing deploys leave no duplicate, leaked allocation or disk, orphan or two-stage violation', async () => {
    const log: string[] = [];
    const report = await runChaos({ ...SHORT, seed: 1, say: (line) => log.push(line) });
    const table = markdownTable(report.rows);
    console.log(`${table}\n(${Math.round(report.elapsedMs / 1000)} s)`);
    const why = `${table}\n\n${log.join('\n')}`;

    expect(report.rows.map((r) => r.scenario)).toEqual(SHORT.scenarios);
    for (const row of report.rows) {
      expect(row.duplicates, why).toBe(0);
      expect(row.leakedAllocations, why).toBe(0);
      expect(row.leakedVolumes, why).toBe(0);
      expect(row.orphans, why).toBe(0);
      expect(row.twoStageViolations, why).toBe(0);
      expect(row.followUps, why).toBe(`${row.runs}/${row.runs}`);
    }
    // The chaos really happened: each crash scenario killed its process at least once.
    const kills = (id: string, kind: 'worker' | 'temporal' | 'region'): number =>
      report.runs.filter((r) => r.scenario === id).reduce((n, r) => n + r.kills[kind], 0);
    expect(kills('worker-kill', 'worker'), why).toBeGreaterThan(0);
    expect(kills('temporal-kill', 'temporal'), why).toBeGreaterThan(0);
    expect(kills('region-kill', 'region'), why).toBeGreaterThan(0);
    expect(kills('two-workers', 'worker'), why).toBeGreaterThan(0);
    expect(
      report.runs.flatMap((r) => r.problems),
      why,
    ).toEqual([]);
    expect(report.ok, why).toBe(true);
  }, 600_000);
});
