// Load, the short version of bench/load.bench.ts (the full size is 1,000 volumes, 100 containers,
// 50 targets, 20 pulls/s for 60 s; bench/README.md): one agent holding 100 volume mounts, 10
// running containers and 10 scrape targets, pulled on /metrics by an open loop of 20 GETs a second
// for 10 s. Every pull must answer 200 with the whole exposition; the latency percentiles, the
// agent's CPU and RSS are printed, with only a generous sanity bound on the p99.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLoadBench } from '../../bench/load.bench.ts';
import { requirePrereqs } from '../support/prereqs.ts';

/** Far above what the agent needs here (tens of ms); only a pull that queues for seconds fails it. */
const P99_SANITY_MS = 5_000;

test('load: 20 pulls/s for 10 s on 100 volumes, 10 containers and 10 targets, without an error', { timeout: 300_000 }, async (t) => {
  requirePrereqs('root', 'mountns', 'dockerd');
  const result = await runLoadBench({ volumes: 100, containers: 10, targets: 10, seriesPerTarget: 100, pullsPerSecond: 20, seconds: 10, log: (line) => t.diagnostic(line) });
  const { pulls, latencyMs, agent } = result;
  t.diagnostic(
    `p50 ${latencyMs.p50} ms, p90 ${latencyMs.p90} ms, p99 ${latencyMs.p99} ms, max ${latencyMs.max} ms over ${pulls.scheduled} pulls; ` +
      `agent CPU ${agent.cpuPercentOfOneCore} % of one core, peak RSS ${(agent.peakRssBytes / 1048576).toFixed(1)} MiB`,
  );
  assert.equal(result.served.volumes, 100, 'the agent served every volume before the window');
  assert.equal(result.served.containers, 10, 'and every container');
  assert.equal(result.served.targetsUp, 10, 'and every target, up');
  assert.equal(pulls.scheduled, 200, '20 pulls/s for 10 s');
  assert.deepEqual(pulls.errorKinds, {}, 'no pull failed');
  assert.equal(pulls.ok, 200);
  // Every 200 carried a whole exposition: at least the size of the one counted before the window.
  assert.ok(pulls.meanBytes >= result.served.bytes * 0.9, `mean body ${pulls.meanBytes} bytes against ${result.served.bytes} before the window`);
  // The agent's own count agrees (the readings before and after the window may add one or two).
  const { success = 0, ...others } = agent.scrapesByOutcome;
  assert.ok(success >= 200, `the agent counted ${success} successful scrapes in the window`);
  assert.deepEqual(Object.entries(others).filter(([, n]) => n > 0), [], 'and no partial, failed or refused one');
  assert.ok(latencyMs.p99 < P99_SANITY_MS, `p99 ${latencyMs.p99} ms is under the ${P99_SANITY_MS} ms sanity bound`);
  assert.ok(agent.cpuSeconds > 0, 'the agent used CPU for the pulls (the figures come from its process)');
});
