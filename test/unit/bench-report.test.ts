import assert from 'node:assert/strict';
import { test } from 'node:test';
import { between, GOVERNANCE_END, GOVERNANCE_START, markdown, NOTES_END, NOTES_START, type BenchResults, type CellSummary } from '../../bench/report.js';

const cell = (rps: number): CellSummary => ({ rps, p50Ms: 1, p99Ms: 2, requests: rps * 8, errors: 0, spread: 0.01, cpuUsPerReq: 120, gatewayCore: 1, coreBusy: [1, 0.2] });

function results(): BenchResults {
  return {
    date: '2026-11-27T00:00:00Z', machine: 'test', node: 'v20', generator: 'wrk', pinning: 'none', nodeFlags: '',
    loadAvgBefore: 1, loadAvgAfter: 1, durationS: 8, rounds: 2, quick: false, note: undefined,
    levels: [{ connections: 64, direct: cell(50_000), gateway: cell(8_000) }],
    directXcore: undefined, jsonLogs: undefined, jsonLogsConnections: 64, ttfb: undefined,
    peakRssBytes: 90 * 1024 * 1024, peakRssJsonBytes: undefined, peakAnonBytes: undefined, fileRssBytes: undefined,
    logBytesPerRequest: undefined, wallS: 60,
  };
}

// The proxy benchmark rewrites docs/BENCHMARKS.md; the governance benchmark's section (written after it, by
// bench/governance.ts) and the hand-written notes must come through a rewrite unchanged.
test('bench report: the governance section and the notes are carried across a rewrite', () => {
  const first = markdown(results(), undefined);
  assert.match(between(first, GOVERNANCE_START, GOVERNANCE_END) ?? '', /Not measured yet/);
  const gov = '\nRecorded X by `node dist/bench/governance.js`\n\n| Variant | req/s |\n|---|---:|\n| plain proxy | 1 |\n';
  const notes = '\n### A note\n\ntext\n';
  const second = markdown(results(), between(first.replace(/Not measured yet[^\n]*/, gov), NOTES_START, NOTES_END) ?? notes, gov);
  assert.equal(between(second, GOVERNANCE_START, GOVERNANCE_END)?.trim(), gov.trim());
  const third = markdown(results(), notes, between(second, GOVERNANCE_START, GOVERNANCE_END));
  assert.equal(between(third, GOVERNANCE_START, GOVERNANCE_END)?.trim(), gov.trim());
  assert.equal(between(third, NOTES_START, NOTES_END)?.trim(), notes.trim());
  assert.ok(third.indexOf('## Governance') < third.indexOf('## Notes'), 'the governance section comes before the notes');
  assert.equal(between('no markers', GOVERNANCE_START, GOVERNANCE_END), undefined);
});
