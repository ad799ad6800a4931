// The fleet view end to end: a real redis-server in the root namespace, three real `ipvs-proxy run`
// agents, each in its own network namespace (its own IPVS table) joined to the root namespace by
// a veth pair (10.99.<i>.0/31 root side, .1 agent side; Redis listens on the root-side addresses),
// and the real `status --cluster`. Then Redis is frozen, killed, replaced by a listener that
// accepts and never answers, and restarted, while the agents keep programming their kernels.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyzeFleet, formatFleet, readFleet, type FleetNodeStatus, type FleetView } from '../../src/fleet/reader.js';
import {
  TTL_MS,
  BASE,
  REDIS_COMMAND_TIMEOUT_MS,
  FRESH_MS,
  note,
  sleep,
  waitFor,
  SERVICE_YAML,
  sliceYaml,
  writeAtomic,
  RedisServer,
  freePort,
  startRedis,
  killRedis,
  BlackHole,
  startBlackHole,
  AgentNode,
  agentNamespace,
  startAgent,
  stopAgent,
  kernelReals,
  kernelHas,
  loggedSyncMs,
  countMatches,
  cli,
  tableRows,
  COL,
  ageMs,
} from './helpers/fleet-harness.js';

describe('fleet view end to end: three agents, a real redis-server, outages', { timeout: 1_800_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
  const nodes: AgentNode[] = [];
  let port = 0;
  let redis: RedisServer | undefined;
  let blackHole: BlackHole | undefined;
  let redisUrl = '';
  /** Endpoints every node serves after the latency step. */
  let common: string[] = [];
  /** With Redis healthy: the longest logged sync that wrote the kernel, and the longest change-to-kernel time. */
  const baseline = { syncMs: 0, programmedMs: 0 };

  const bindAddresses = (): string[] => ['127.0.0.1', ...nodes.map((n) => n.hostAddress)];
  const view = async (): Promise<FleetView> => analyzeFleet(await readFleet(redisUrl, { connectTimeoutMs: 10_000, commandTimeoutMs: 10_000 }), Date.now());
  const byName = (v: FleetView): Map<string, FleetNodeStatus> => new Map(v.nodes.map((n) => [n.node, n]));

  /** Write one slice to these agents; wait for their kernels and their logged syncs; the times. */
  async function change(targets: readonly AgentNode[], endpoints: readonly string[], trigger: boolean): Promise<{ programmedMs: number[]; syncMs: number[] }> {
    const offsets = targets.map((n) => n.log.length);
    const t0 = Date.now();
    const slice = sliceYaml(endpoints, trigger ? new Date(t0).toISOString() : undefined);
    for (const n of targets) writeAtomic(join(n.dir, 'slice.yaml'), slice);
    const programmedMs = await Promise.all(targets.map((n) => kernelHas(n, endpoints, t0)));
    const syncMs = await Promise.all(
      targets.map((n, i) =>
        waitFor(
          `${n.name}'s log of the sync that wrote ${endpoints.length} real servers`,
          async () => loggedSyncMs(n, offsets[i], endpoints.length),
          30_000,
          250,
        ),
      ),
    );
    note(`change to ${targets.map((n) => n.name).join(',')}: in the kernel after ${programmedMs.join('/')} ms; syncs took ${syncMs.join('/')} ms`);
    return { programmedMs, syncMs };
  }

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'needs root (run it with test/vm/run.sh)');
    for (let i = 1; i <= 3; i++) nodes.push(await agentNamespace(i, work));
    port = await freePort();
    redisUrl = `redis://127.0.0.1:${port}`;
    redis = await startRedis(port, bindAddresses());
    note(`redis-server on port ${port}, bound to ${bindAddresses().join(' ')}`);
    for (const n of nodes) {
      writeFileSync(join(n.dir, 'service.yaml'), SERVICE_YAML);
      writeFileSync(join(n.dir, 'slice.yaml'), sliceYaml(BASE, undefined));
      startAgent(n, port, join(work, n.name, 'state'));
    }
    note('three agents started');
  });

  after(async () => {
    for (const n of nodes) {
      note(
        `${n.name} log (last lines):\n${n.log
          .trim()
          .split('\n')
          .slice(-12)
          .map((l) => `#   ${l}`)
          .join('\n')}`,
      );
      n.child?.kill('SIGKILL');
      if (n.exited) await Promise.race([n.exited, sleep(10_000)]);
    }
    await blackHole?.stop();
    if (redis) await killRedis(redis, 'SIGKILL');
    for (const n of nodes) await n.ns.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('three agents publish; status --cluster shows all three with ages and latencies', { timeout: 720_000 }, async () => {
    await waitFor(
      'three healthy, agreeing nodes in the fleet view',
      async () => {
        const v = await view();
        const ok = v.nodes.length === 3 && v.nodes.every((n) => n.state === 'healthy' && n.lastSyncAgeMs !== null && n.agreement === 'agrees');
        return ok ? v : undefined;
      },
      600_000,
      1_000,
    );
    note('three agents healthy and agreeing');
    for (const n of nodes) assert.deepEqual(await kernelReals(n), [...BASE].sort(), `${n.name}'s kernel`);

    // An EndpointSlice change stamped with its trigger time: each agent measures the time to the
    // kernel, which can be no later than when ipvsadm shows it here.
    common = [...BASE, '10.244.1.3'];
    const { programmedMs, syncMs } = await change(nodes, common, true);
    baseline.syncMs = Math.max(...syncMs);
    baseline.programmedMs = Math.max(...programmedMs);
    const v = await waitFor(
      'a latency sample from every node',
      async () => {
        const got = await view();
        return got.nodes.length === 3 && got.nodes.every((n) => (n.latency?.count ?? 0) >= 1) ? got : undefined;
      },
      60_000,
      500,
    );
    const by = byName(v);
    nodes.forEach((n, i) => {
      const lat = by.get(n.name)!.latency!;
      assert.ok(lat.p50Ms !== null && lat.p50Ms > 0, `${n.name}: p50 ${lat.p50Ms}`);
      assert.ok(lat.p99Ms !== null && lat.p99Ms >= lat.p50Ms, `${n.name}: p99 ${lat.p99Ms}`);
      // Histogram buckets are within ~4.4 %; the agent acknowledged before this poll saw the kernel.
      assert.ok(lat.p50Ms <= programmedMs[i] * 1.1 + 50, `${n.name}: p50 ${lat.p50Ms} ms, but the kernel had it after ${programmedMs[i]} ms`);
    });

    const text = await cli(['status', '--cluster', '--status-redis', redisUrl]);
    assert.equal(text.code, 0, text.stderr);
    note(
      `status --cluster:\n${text.stdout
        .trimEnd()
        .split('\n')
        .map((l) => `#   ${l}`)
        .join('\n')}`,
    );
    const rows = tableRows(text.stdout);
    assert.deepEqual([...rows.keys()], ['node-1', 'node-2', 'node-3'], text.stdout);
    for (const [name, cells] of rows) {
      assert.equal(cells.length, 14, `${name}: ${cells.join('|')}`);
      assert.equal(cells[COL.state], 'healthy', name);
      assert.ok(ageMs(cells[COL.lastSync]) < FRESH_MS, `${name} last sync ${cells[COL.lastSync]}`);
      assert.ok(ageMs(cells[COL.heartbeat]) <= TTL_MS, `${name} heartbeat ${cells[COL.heartbeat]}`);
      assert.equal(cells[COL.agreement], 'agrees', name);
      assert.match(cells[COL.p50], /^[\d.]+m?s$/, `${name} p50`);
      assert.match(cells[COL.p99], /^[\d.]+m?s$/, `${name} p99`);
      assert.ok(Number(cells[COL.samples]) >= 1, `${name} samples ${cells[COL.samples]}`);
    }
    assert.match(text.stdout, /^3 nodes: 3 healthy, 0 unhealthy, 0 silent; 0 disagreeing with their peers$/m);
    const fleetLine = /^network programming latency \(all nodes, last 10m00s\): p50 [\d.]+m?s, p99 [\d.]+m?s over (\d+) samples$/m.exec(text.stdout);
    assert.ok(fleetLine && Number(fleetLine[1]) >= 3, text.stdout);

    const json = await cli(['status', '--cluster', '--status-redis', redisUrl, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as FleetView;
    assert.deepEqual(
      doc.nodes.map((n) => n.node),
      ['node-1', 'node-2', 'node-3'],
    );
    for (const n of doc.nodes) {
      assert.equal(n.state, 'healthy', n.node);
      assert.equal(n.agreement, 'agrees', n.node);
      assert.ok(n.lastSyncAgeMs !== null && n.lastSyncAgeMs >= 0 && n.lastSyncAgeMs < FRESH_MS, `${n.node} lastSyncAgeMs ${n.lastSyncAgeMs}`);
      assert.ok(n.lastSeenAgeMs !== null && n.lastSeenAgeMs <= TTL_MS, `${n.node} lastSeenAgeMs ${n.lastSeenAgeMs}`);
      assert.ok(n.latency && n.latency.count >= 1 && n.latency.p50Ms !== null, `${n.node} latency ${JSON.stringify(n.latency)}`);
      assert.deepEqual(n.counts, { virtualServers: 1, realServers: 3, addresses: 1 }, n.node);
    }
    assert.deepEqual(doc.summary, { nodes: 3, healthy: 3, unhealthy: 0, silent: 0, disagreeing: 0 });
    // Histograms add up: the fleet's samples are all the nodes' samples.
    assert.equal(
      doc.latency.count,
      doc.nodes.reduce((s, n) => s + n.latency!.count, 0),
    );
    assert.ok(doc.latency.p50Ms !== null && doc.latency.p99Ms !== null && doc.latency.p99Ms >= doc.latency.p50Ms);
  });

  it('a node given a different desired state shows as disagreeing, and agrees again when it catches up', { timeout: 300_000 }, async () => {
    const odd = nodes[2];
    const { programmedMs, syncMs } = await change([odd], [...common, '10.244.1.4'], false);
    baseline.syncMs = Math.max(baseline.syncMs, ...syncMs);
    baseline.programmedMs = Math.max(baseline.programmedMs, ...programmedMs);
    const v = await waitFor(
      'node-3 disagreeing with the two others',
      async () => {
        const by = byName(await view());
        return by.get('node-3')?.agreement === 'disagrees' && by.get('node-1')?.agreement === 'agrees' && by.get('node-2')?.agreement === 'agrees'
          ? by
          : undefined;
      },
      60_000,
      500,
    );
    assert.equal(v.get('node-1')!.digest, v.get('node-2')!.digest);
    assert.notEqual(v.get('node-3')!.digest, v.get('node-1')!.digest);

    // The table `status --cluster` prints, rendered here: every CLI start costs minutes in the loaded VM.
    const text = { stdout: formatFleet(await readFleet(redisUrl, { connectTimeoutMs: 10_000, commandTimeoutMs: 10_000 }), Date.now()) };
    const rows = tableRows(text.stdout);
    assert.equal(rows.get('node-3')![COL.agreement], 'disagrees', text.stdout);
    assert.equal(rows.get('node-1')![COL.agreement], 'agrees', text.stdout);
    assert.equal(rows.get('node-2')![COL.agreement], 'agrees', text.stdout);
    assert.notEqual(rows.get('node-3')![COL.digest], rows.get('node-1')![COL.digest]);
    assert.match(text.stdout, /^3 nodes: 3 healthy, 0 unhealthy, 0 silent; 1 disagreeing with their peers$/m);
    note('node-3 disagrees');

    await change([odd], common, false);
    await waitFor(
      'all three agreeing again',
      async () => {
        const got = await view();
        return got.nodes.every((n) => n.agreement === 'agrees') && new Set(got.nodes.map((n) => n.digest)).size === 1 ? got : undefined;
      },
      60_000,
      500,
    );
  });

  it('a stopped agent shows as silent after its TTL, and is still listed', { timeout: 300_000 }, async () => {
    const stopped = nodes[2];
    assert.equal(await stopAgent(stopped), 0, `node-3 exit status; log:\n${stopped.log.slice(-2000)}`);
    const v = await waitFor(
      'node-3 silent',
      async () => {
        const got = await view();
        return byName(got).get('node-3')?.state === 'silent' ? got : undefined;
      },
      TTL_MS + 60_000,
      250,
    );
    note('node-3 silent');
    const silent = byName(v).get('node-3')!;
    assert.ok(silent.lastSeenAgeMs !== null && silent.lastSeenAgeMs > TTL_MS, `silent with a heartbeat ${silent.lastSeenAgeMs} ms old (ttl ${TTL_MS})`);
    assert.equal(silent.agreement, 'unknown');
    assert.deepEqual(v.summary, { nodes: 3, healthy: 2, unhealthy: 0, silent: 1, disagreeing: 0 });
    // The fleet SLI counts live nodes only.
    assert.equal(
      v.latency.count,
      v.nodes.filter((n) => n.state !== 'silent').reduce((s, n) => s + n.latency!.count, 0),
    );

    const text = { stdout: formatFleet(await readFleet(redisUrl, { connectTimeoutMs: 10_000, commandTimeoutMs: 10_000 }), Date.now()) };
    const rows = tableRows(text.stdout);
    assert.equal(rows.size, 3, text.stdout);
    assert.equal(rows.get('node-3')![COL.state], 'silent', text.stdout);
    assert.ok(ageMs(rows.get('node-3')![COL.heartbeat]) > TTL_MS, text.stdout);
    for (const name of ['node-1', 'node-2']) {
      assert.equal(rows.get(name)![COL.state], 'healthy', text.stdout);
      assert.equal(rows.get(name)![COL.agreement], 'agrees', text.stdout);
    }
    assert.match(text.stdout, /^3 nodes: 2 healthy, 0 unhealthy, 1 silent; 0 disagreeing with their peers$/m);
  });

  it('Redis frozen, killed, then a listener that never answers: syncs keep completing; publishing resumes on a new Redis', { timeout: 600_000 }, async () => {
    const live = nodes.slice(0, 2);
    const beforeOutage = byName(await view());
    const samplesBefore = live.map((n) => beforeOutage.get(n.name)!.latency!.count);
    const logFrom = live.map((n) => n.log.length);
    // A sync that waited out one Redis command would take REDIS_COMMAND_TIMEOUT_MS more than the
    // slowest sync seen with Redis healthy; these bounds stay below that.
    const syncLimitMs = Math.max(REDIS_COMMAND_TIMEOUT_MS, baseline.syncMs + REDIS_COMMAND_TIMEOUT_MS / 2);
    const programmedLimitMs = Math.max(10_000, 2 * baseline.programmedMs);
    note(
      `baseline with Redis healthy: sync ${baseline.syncMs} ms, in the kernel after ${baseline.programmedMs} ms; limits ${syncLimitMs}/${programmedLimitMs} ms`,
    );

    // /healthz of both live agents, every 500 ms, for the whole outage.
    const health = { ok: 0, bad: [] as string[], running: true };
    const polling = (async () => {
      while (health.running) {
        for (const n of live) {
          try {
            const r = await fetch(`http://${n.agentAddress}:10256/healthz`, { signal: AbortSignal.timeout(10_000) });
            await r.text();
            if (r.status === 200) health.ok += 1;
            else health.bad.push(`${n.name}: HTTP ${r.status}`);
          } catch (err) {
            health.bad.push(`${n.name}: ${(err as Error).message}`);
          }
        }
        await sleep(500);
      }
    })();

    let served = [...common];
    const changeDuringOutage = async (phase: string): Promise<void> => {
      served = [...served, `10.244.9.${served.length}`];
      const { programmedMs, syncMs } = await change(live, served, true);
      live.forEach((n, i) => {
        assert.ok(programmedMs[i] < programmedLimitMs, `${phase}: ${n.name} programmed the change after ${programmedMs[i]} ms`);
        assert.ok(syncMs[i] < syncLimitMs, `${phase}: ${n.name}'s sync took ${syncMs[i]} ms`);
      });
    };

    try {
      // Frozen: connections stay open, nothing answers; commands time out.
      redis!.child.kill('SIGSTOP');
      note('Redis frozen');
      await changeDuringOutage('Redis frozen');
      await Promise.all(
        live.map((n, i) =>
          waitFor(
            `${n.name} to log Redis unavailable`,
            async () => (/fleet status: .* unavailable/.test(n.log.slice(logFrom[i])) ? true : undefined),
            60_000,
            250,
          ),
        ),
      );
      await sleep(3_000);

      // Gone: connections refused.
      await killRedis(redis!, 'SIGKILL');
      redis = undefined;
      note('Redis killed');
      await changeDuringOutage('Redis stopped');
      await sleep(3_000);

      // A listener that accepts and never answers.
      blackHole = await startBlackHole(port, bindAddresses());
      note('silent listener up');
      await waitFor(
        'both agents to connect to the silent listener',
        async () => (live.every((n) => (blackHole!.acceptedFrom.get(n.agentAddress) ?? 0) >= 1) ? true : undefined),
        90_000,
        250,
      );
      note('both agents connected to the silent listener');
      await changeDuringOutage('Redis never answering');
      const status = await cli(['status', '--cluster', '--status-redis', redisUrl]);
      assert.notEqual(status.code, 0, 'status --cluster against a silent listener must fail');
      assert.match(status.stderr, /unavailable/);
      note(`status --cluster against the silent listener: exit ${status.code}: ${status.stderr.trim()}`);
    } finally {
      health.running = false;
      await polling;
    }
    note(`/healthz during the outage: ${health.ok} OK, ${health.bad.length} not`);
    assert.deepEqual(health.bad, [], 'every /healthz answer during the outage was 200');
    assert.ok(health.ok >= 10, `only ${health.ok} /healthz answers`);
    live.forEach((n, i) => {
      const outage = n.log.slice(logFrom[i]);
      assert.equal(countMatches(outage, /fleet status: .* unavailable/), 1, `${n.name} logs the outage once:\n${outage}`);
      assert.equal(countMatches(outage, /fleet status: publishing to/), 0, `${n.name} did not publish during the outage`);
    });

    // Real Redis again, on the same port: both agents publish again, with fresh ages and the
    // latency samples of the changes made while it was away.
    await blackHole!.stop();
    blackHole = undefined;
    redis = await startRedis(port, bindAddresses());
    note('Redis restarted');
    const v = await waitFor(
      'both live agents publishing to the new Redis',
      async () => {
        const got = byName(await view());
        return live.every((n) => got.get(n.name)?.state === 'healthy' && got.get(n.name)?.counts?.realServers === served.length) ? got : undefined;
      },
      120_000,
      500,
    );
    note('both agents publish again');
    live.forEach((n, i) => {
      const s = v.get(n.name)!;
      assert.ok(s.latency!.count >= samplesBefore[i] + 3, `${n.name}: ${s.latency!.count} samples, ${samplesBefore[i]} before the outage`);
      assert.ok(s.lastSyncAgeMs !== null && s.lastSyncAgeMs < FRESH_MS, `${n.name}: last sync ${s.lastSyncAgeMs} ms ago`);
      assert.equal(countMatches(n.log.slice(logFrom[i]), /fleet status: publishing to/), 1, `${n.name} logs once that it publishes again`);
    });

    const text = await cli(['status', '--cluster', '--status-redis', redisUrl]);
    assert.equal(text.code, 0, text.stderr);
    note(
      `status --cluster after the outage:\n${text.stdout
        .trimEnd()
        .split('\n')
        .map((l) => `#   ${l}`)
        .join('\n')}`,
    );
    const rows = tableRows(text.stdout);
    // The new Redis started empty: the stopped node never published to it.
    assert.deepEqual([...rows.keys()], ['node-1', 'node-2'], text.stdout);
    for (const [name, cells] of rows) {
      assert.equal(cells[COL.state], 'healthy', name);
      assert.ok(ageMs(cells[COL.heartbeat]) <= TTL_MS, `${name} heartbeat ${cells[COL.heartbeat]}`);
      assert.ok(ageMs(cells[COL.lastSync]) < FRESH_MS, `${name} last sync ${cells[COL.lastSync]}`);
      assert.equal(cells[COL.agreement], 'agrees', name);
    }
    assert.match(text.stdout, /^2 nodes: 2 healthy, 0 unhealthy, 0 silent; 0 disagreeing with their peers$/m);
    for (const n of live) assert.deepEqual(await kernelReals(n), [...served].sort(), `${n.name}'s kernel after the outage`);
  });
});
