// What an operator and a cloud load balancer see of a running agent, on a real IPVS kernel with
// the fixture API server: /healthz and /livez, /metrics values, Kubernetes Events, a SIGTERM that
// leaves the kernel as it is, and kube-proxy's health check node ports.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FixtureApiServer } from '../fixtures/apiserver/server.js';
import { endpointSlice, FixtureCluster, service } from './helpers/cluster.js';
import {
  httpGet,
  httpProbe,
  ipvsRules,
  metricSum,
  POD_PORT,
  sleep,
  Topology,
  vipAddresses,
  waitFor,
  type AgentProcess,
  type HttpAnswer,
  type Pod,
} from './helpers/topology.js';

let topo: Topology;
let pods: Pod[];

before(async () => {
  topo = await Topology.create({ pods: [{ name: 'web-a' }, { name: 'web-b' }] });
  pods = topo.pods;
});
after(async () => {
  await topo?.destroy();
});

/** An agent on a fresh fixture API server; the test states the cluster through `cluster`. */
async function withAgent(
  state: string,
  fn: (ctx: { api: FixtureApiServer; cluster: FixtureCluster; start: () => AgentProcess }) => Promise<void>,
): Promise<void> {
  await topo.resetNode();
  const api = await FixtureApiServer.start();
  try {
    const cluster = new FixtureCluster(api, await topo.kubeconfigFor(api.port));
    const args = [
      'run',
      ...cluster.sourceArgs,
      '--node-name',
      topo.nodeName,
      '--state-dir',
      topo.stateDir(state),
      '--sync-period',
      '2s',
      '--min-sync-period',
      '0s',
      '--healthz-bind-address',
      '0.0.0.0:10256',
      '--metrics-bind-address',
      '0.0.0.0:10249',
      '--log-format',
      'text',
      '--log-level',
      'debug',
    ];
    let agent: AgentProcess | undefined;
    try {
      await fn({ api, cluster, start: () => (agent = topo.startAgent(args, state)) });
    } catch (err) {
      if (agent) process.stderr.write(`--- agent log (${state}) ---\n${agent.tail(60)}\n---\n`);
      throw err;
    }
  } finally {
    await api.close();
    await topo.resetNode();
  }
}

async function scrape(): Promise<string> {
  const r = await httpGet(`http://${topo.nodeAddress}:10249/metrics`);
  assert.equal(r.status, 200, `GET /metrics: ${r.status}`);
  return r.body;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

test('health, metrics and events of a running agent; SIGTERM exits 0 and leaves the IPVS table as it was', { timeout: 900_000 }, async () => {
  await withAgent('ops', async ({ api, cluster, start }) => {
    const [a, b] = pods;
    const ip = topo.serviceIp(20);
    const startedAt = Date.now();
    await cluster.set([service('web', ip), endpointSlice('web', [a])]);
    const agent = start();
    let stopped = false;
    try {
      await agent.waitForLog(/agent running/, 400_000);
      await waitFor(
        'web programmed',
        () => ipvsRules(topo.node),
        (r) => r.includes(`-a -t ${ip}:80 -r ${a.address}:${POD_PORT} -m -w 1`),
      );

      for (const path of ['/healthz', '/livez']) {
        // The kernel shows the real server before the sync that wrote it has finished (iptables,
        // the record); lastUpdated is that sync's end, not the start-up read's.
        const synced = (x: { status: number; body: string }): boolean => {
          try {
            return x.status === 200 && Date.parse((JSON.parse(x.body) as { lastUpdated: string }).lastUpdated) >= startedAt - 1000;
          } catch {
            return false;
          }
        };
        const r = await waitFor(`${path} 200 with a lastUpdated after the start`, () => httpProbe(`http://${topo.nodeAddress}:10256${path}`), synced, {
          timeoutMs: 20_000,
        });
        assert.equal(r.headers['content-type'], 'application/json');
        const body = JSON.parse(r.body) as { lastUpdated: string; currentTime: string; nodeEligible: boolean };
        assert.match(body.lastUpdated, ISO);
        assert.match(body.currentTime, ISO);
        assert.ok(Date.parse(body.lastUpdated) >= startedAt - 1000, `${path}: lastUpdated ${body.lastUpdated} is before the agent started`);
        assert.ok(Date.parse(body.currentTime) >= Date.parse(body.lastUpdated));
        assert.equal(body.nodeEligible, true);
      }
      assert.equal((await httpGet(`http://${topo.nodeAddress}:10256/nope`)).status, 404);

      const first = await scrape();
      const last = metricSum(first, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds');
      assert.ok(last * 1000 >= startedAt - 1000 && last * 1000 <= Date.now() + 1000, `last sync timestamp ${last}`);
      assert.ok(metricSum(first, 'ipvs_proxy_kernel_writes_total') > 0, 'the first sync into an empty kernel counted no writes');
      assert.equal(metricSum(first, 'kubeproxy_network_programming_duration_seconds_count'), 0, 'no slice carried a trigger time yet');
      assert.ok(metricSum(first, 'kubeproxy_proxy_healthz_total') >= 1, 'the /healthz probe was not counted');

      // An EndpointSlice change stamped with its trigger time: one network programming sample.
      const trigger = new Date(Date.now() - 500).toISOString().replace(/\.\d{3}Z$/, 'Z');
      await cluster.set([service('web', ip), endpointSlice('web', [a, b], { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': trigger } })]);
      await waitFor(
        'web-b added',
        () => ipvsRules(topo.node),
        (r) => r.includes(`-a -t ${ip}:80 -r ${b.address}:${POD_PORT} -m -w 1`),
      );
      const programmed = await waitFor(
        'a network programming sample',
        scrape,
        (m) => metricSum(m, 'kubeproxy_network_programming_duration_seconds_count') > 0,
        { timeoutMs: 20_000 },
      );
      const seconds = metricSum(programmed, 'kubeproxy_network_programming_duration_seconds_sum');
      assert.ok(seconds > 0 && seconds < 120, `network programming took ${seconds} s`);
      assert.ok(metricSum(programmed, 'kubeproxy_sync_proxy_rules_endpoint_changes_total') >= 1);

      // A scheduler the agent does not know: an Event on the Service, the global scheduler used.
      const odd = topo.serviceIp(21);
      await cluster.set([
        service('web', ip),
        endpointSlice('web', [a, b], { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': trigger } }),
        service('odd', odd, { annotations: { 'ipvs-proxy.io/scheduler': 'no-such-scheduler' } }),
        endpointSlice('odd', [a]),
      ]);
      const events = await waitFor(
        'an Event on Service default/odd',
        () => api.storedEvents(),
        (es) => es.some((e) => (e.object.involvedObject as { name?: string } | undefined)?.name === 'odd'),
        { timeoutMs: 30_000 },
      );
      const event = events.find((e) => (e.object.involvedObject as { name?: string } | undefined)?.name === 'odd')!;
      assert.equal(event.namespace, 'default');
      assert.equal(event.object.type, 'Warning');
      assert.equal(event.object.reason, 'IpvsProxyInvalidSpec');
      assert.match(String(event.object.message), /no-such-scheduler/);
      await waitFor(
        'odd programmed with rr',
        () => ipvsRules(topo.node),
        (r) => r.includes(`-A -t ${odd}:80 -s rr`),
      );
      assert.ok(agent.running);

      // SIGTERM: exit 0, the kernel untouched.
      await sleep(2500);
      const before = { rules: await ipvsRules(topo.node), vips: await vipAddresses(topo.node) };
      const exit = await agent.stop();
      stopped = true;
      assert.deepEqual(exit, { code: 0, signal: null }, `exit on SIGTERM:\n${agent.tail()}`);
      assert.match(agent.logs, /SIGTERM: stopping/);
      assert.deepEqual({ rules: await ipvsRules(topo.node), vips: await vipAddresses(topo.node) }, before);
      assert.ok(before.rules.length >= 5 && before.vips.length === 2, `nothing to compare: ${JSON.stringify(before)}`);
    } finally {
      if (!stopped) await agent.stop();
    }
  });
});

function lbService(name: string, ip: string, nodePort: number, healthCheckNodePort: number) {
  return service(name, ip, {
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: POD_PORT, nodePort }],
    },
  });
}

interface HealthCheckBody {
  service: { namespace: string; name: string };
  localEndpoints: number;
  serviceProxyHealthy: boolean;
}

function checkAnswer(r: HttpAnswer, status: number, name: string, local: number, healthy: boolean): void {
  assert.equal(r.status, status, `health check of ${name}: ${r.status} ${r.body}`);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-load-balancing-endpoint-weight'], String(local));
  assert.deepEqual(JSON.parse(r.body) as HealthCheckBody, { service: { namespace: 'default', name }, localEndpoints: local, serviceProxyHealthy: healthy });
}

test(
  'health check node ports: 200 with a local endpoint, 503 without and during shutdown, closed on delete, a taken port warns',
  { timeout: 900_000 },
  async () => {
    await withAgent('hc', async ({ api, cluster, start }) => {
      const [a, b] = pods;
      const lb = lbService('lb', topo.serviceIp(30), 31080, 31990);
      const url = `http://${topo.nodeAddress}:31990/`;
      await cluster.set([lb, endpointSlice('lb', [a])]);
      const agent = start();
      let stopped = false;
      try {
        await agent.waitForLog(/agent running/, 400_000);
        checkAnswer(
          await waitFor(
            'lb health check 200',
            () => httpProbe(url),
            (r) => r.status === 200,
          ),
          200,
          'lb',
          1,
          true,
        );

        // The endpoint moves to another node: no local endpoint, 503.
        await cluster.set([lb, endpointSlice('lb', [a], { nodeName: 'node-b' })]);
        checkAnswer(
          await waitFor(
            'lb health check 503',
            () => httpProbe(url),
            (r) => r.status === 503,
          ),
          503,
          'lb',
          0,
          true,
        );
        await cluster.set([lb, endpointSlice('lb', [a, b])]);
        checkAnswer(
          await waitFor(
            'lb health check 200 again',
            () => httpProbe(url),
            (r) => r.status === 200 && r.body.includes('"localEndpoints": 2'),
          ),
          200,
          'lb',
          2,
          true,
        );

        // A port something else already holds: a warning and an Event, the agent carries on.
        await topo.startProcess(topo.node, ['-e', "require('node:net').createServer().listen(31991, '0.0.0.0', () => console.log('listening'))"], 'blocker');
        const taken = lbService('taken', topo.serviceIp(31), 31081, 31991);
        await cluster.set([lb, endpointSlice('lb', [a, b]), taken, endpointSlice('taken', [a])]);
        await agent.waitForLog(/health check node port 31991 for default\/taken: .*port already in use/, 30_000);
        await waitFor(
          'a HealthCheckPortUnavailable Event',
          () => api.storedEvents(),
          (es) => es.some((e) => e.object.reason === 'HealthCheckPortUnavailable' && (e.object.involvedObject as { name?: string }).name === 'taken'),
          { timeoutMs: 30_000 },
        );
        assert.ok(agent.running, 'the agent exited over a taken port');
        checkAnswer(await httpGet(url), 200, 'lb', 2, true);
        assert.equal((await httpGet(`http://${topo.nodeAddress}:10256/healthz`)).status, 200);

        // The service goes: its port closes.
        await cluster.set([taken, endpointSlice('taken', [a])]);
        // A probe that connects in the instant the server closes is reset rather than refused; the
        // port counts as closed once a connection is refused outright (waitFor fails after 60 s).
        await waitFor(
          'lb health check port closed',
          () => httpProbe(url),
          (r) => r.status === 0 && r.body === 'ECONNREFUSED',
        );

        // SIGTERM: 503 from the moment the agent starts stopping until the port closes.
        const last = lbService('last', topo.serviceIp(32), 31082, 31992);
        const lastUrl = `http://${topo.nodeAddress}:31992/`;
        await cluster.set([taken, endpointSlice('taken', [a]), last, endpointSlice('last', [b])]);
        checkAnswer(
          await waitFor(
            'last health check 200',
            () => httpProbe(lastUrl),
            (r) => r.status === 200,
          ),
          200,
          'last',
          1,
          true,
        );
        const seen: HttpAnswer[] = [];
        let probing = true;
        const prober = (async () => {
          while (probing) {
            const r = await httpProbe(lastUrl, 2000);
            seen.push(r);
            if (r.status === 0 && !agent.running) break;
          }
        })();
        await sleep(200);
        const exit = await agent.stop();
        stopped = true;
        await Promise.race([prober, sleep(10_000)]);
        probing = false;
        await prober;
        assert.deepEqual(exit, { code: 0, signal: null }, `exit on SIGTERM:\n${agent.tail()}`);
        const statuses = seen.map((r) => r.status);
        const first503 = statuses.indexOf(503);
        assert.ok(first503 > 0, `no 503 while shutting down; statuses: ${compress(statuses)}`);
        assert.ok(!statuses.slice(first503).includes(200), `200 after a 503 during shutdown: ${compress(statuses)}`);
        checkAnswer(seen[first503], 503, 'last', 1, false);
        assert.equal(statuses.at(-1), 0, `the port stayed open after the exit: ${compress(statuses)}`);
      } finally {
        if (!stopped) await agent.stop();
      }
    });
  },
);

/** "200x41 503x3 0x1" */
function compress(statuses: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < statuses.length;) {
    let j = i;
    while (j < statuses.length && statuses[j] === statuses[i]) j++;
    out.push(`${statuses[i]}x${j - i}`);
    i = j;
  }
  return out.join(' ');
}
