// Faults under real traffic, real kernel (VM): the agent SIGKILLed mid-sync of 2,000 services and
// restarted; a rolling update through the fixture API server; a UDP backend replaced; netlink
// ENOBUFS and a hung socket through the addon's fault hook. Each test builds its own namespaces
// (test/kernel/helpers/faults.ts) and runs the built CLI (dist/). The first agent start in a VM on
// a loaded host was seen to take 3-6 minutes (loading the CLI's modules over the 9p share under
// emulation), hence the long first-sync deadlines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { FixtureApiServer, type KubeObject } from '../fixtures/apiserver/server.js';
import { vipAddresses } from './helpers/topology.js';
import { FaultWorld, HTTP_PORT, UDP_PORT, serviceObj, sleep, sliceObj, until, writeManifests, type Answer } from './helpers/faults.js';
import { TEST_ADDON_PATH } from '../support/native-test-addon.js';

const VIP = '10.96.0.1';

function failures(answers: Answer[]): Answer[] {
  return answers.filter((a) => !a.ok);
}

/** Service i of the large set: 10.96.(1 + i/250).(i%250 + 1):80, one endpoint on pod address. */
function bulk(i: number, podAddress: string): Record<string, unknown>[] {
  const ip = `10.96.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`;
  return [serviceObj(`bulk-${i}`, ip, 80), sliceObj(`bulk-${i}`, [{ pod: { name: `bulk-pod-${i}`, address: podAddress } }])];
}

async function vsCount(w: FaultWorld): Promise<number> {
  return (await w.rules()).filter((l) => l.startsWith('-A')).length;
}

test('SIGKILL mid-sync of 2,000 services, restart: converges, the served VIP never disappears, no failed request', { timeout: 900_000 }, async () => {
  await FaultWorld.with(['web-a', 'web-b', 'web-c'], async (w) => {
    const dir = join(w.work, 'manifests');
    mkdirSync(dir);
    const file = join(dir, 'cluster.json');
    const web = [
      serviceObj('web', VIP, 80),
      sliceObj(
        'web',
        w.pods.map((pod) => ({ pod })),
      ),
    ];
    writeManifests(file, web);
    const first = w.agent(['--manifests', dir, '--sync-period', '30s']);
    await until(
      'web has 3 real servers',
      () => w.reals('TCP', VIP, 80),
      (r) => r?.length === 3,
      600_000,
    );
    const traffic = w.traffic('http', VIP, 80, 20);
    // Watches the served virtual server from inside the node, every 50 ms, for the whole test.
    const watcher = w.spawnIn(w.node, [
      'sh',
      '-c',
      `while :; do if ipvsadm -Ln -t ${VIP}:80 >/dev/null 2>&1; then echo present; else echo MISSING; fi; sleep 0.05; done`,
    ]);
    await until(
      'traffic flows',
      async () => traffic.answers().filter((a) => a.ok).length,
      (n) => n >= 10,
    );

    const items = [...web];
    for (let i = 0; i < 1999; i++) items.push(...bulk(i, w.pod('web-a').address));
    writeManifests(file, items);
    const atKill = await until(
      'the large sync has begun',
      () => vsCount(w),
      (n) => n > 1,
      600_000,
    );
    first.kill('SIGKILL');
    const exit = await first.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const afterKill = await vsCount(w);

    const second = w.agent(['--manifests', dir, '--sync-period', '30s']);
    await until(
      '2,000 virtual servers',
      () => vsCount(w),
      (n) => n === 2000,
      180_000,
    );
    await second.waitFor(/agent running/, 600_000);
    await sleep(2000);
    const rules = await w.rules();
    assert.equal(rules.filter((l) => l.startsWith('-a')).length, 1999 + 3, 'one real server per bulk service, three for web');
    const vips = (await vipAddresses(w.node)).filter((a) => !a.includes(':')).length;
    assert.equal(vips, 2000, 'every ClusterIP local on kube-ipvs0');
    traffic.kill('SIGTERM');
    watcher.kill('SIGKILL');
    await traffic.exited;
    const answers = traffic.answers();
    const seen = watcher.text.split('\n').filter(Boolean);
    process.stdout.write(
      `# killed with ${atKill} (then ${afterKill}) of 2000 virtual servers in the kernel; ${answers.length} requests, ${failures(answers).length} failed; VIP checked ${seen.length} times\n`,
    );
    assert.deepEqual(failures(answers).slice(0, 5), [], `failed requests out of ${answers.length}`);
    assert.ok(answers.length > 50, `enough requests during the test: ${answers.length}`);
    assert.ok(!seen.includes('MISSING'), `the web virtual server disappeared (${seen.filter((s) => s === 'MISSING').length} of ${seen.length} checks)`);
    assert.doesNotMatch(second.text, /deleteService[^\n]*10\.96\.0\.1\b/);
    second.kill('SIGTERM');
    await second.exited;
  });
});

test(
  'rolling update through the fixture API server under traffic: no failed request, terminating pods get no new connections',
  { timeout: 900_000 },
  async () => {
    const api = await FixtureApiServer.start();
    await FaultWorld.with(['old-1', 'old-2', 'new-1', 'new-2'], async (w) => {
      const [o1, o2, n1, n2] = ['old-1', 'old-2', 'new-1', 'new-2'].map((n) => w.pod(n));
      api.create('nodes', { metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: w.nodeAddress }] } });
      api.create('services', serviceObj('web', VIP, 80) as KubeObject);
      api.create('endpointslices', sliceObj('web', [{ pod: o1 }, { pod: o2 }]) as KubeObject);
      const agent = w.agent(['--kubeconfig', await w.kubeconfigFor(api.port), '--sync-period', '10s']);
      await until(
        'two old pods',
        () => w.reals('TCP', VIP, 80),
        (r) => r?.length === 2,
        600_000,
      );
      const traffic = w.traffic('http', VIP, 80, 20);
      await until(
        'traffic flows',
        async () => traffic.answers().filter((a) => a.ok).length,
        (n) => n >= 10,
      );

      const step = async (eps: Parameters<typeof sliceObj>[1], what: string, check: (r: string[] | undefined) => boolean): Promise<number> => {
        api.update('endpointslices', sliceObj('web', eps) as KubeObject);
        await until(what, () => w.reals('TCP', VIP, 80), check, 60_000);
        const at = Date.now();
        await sleep(1000);
        return at;
      };
      const has = (r: string[] | undefined, pod: { address: string }, weight: number): boolean => !!r?.includes(`${pod.address}:${HTTP_PORT} ${weight}`);
      const terminating = { ready: false, serving: true, terminating: true };

      await step([{ pod: o1 }, { pod: o2 }, { pod: n1 }], 'new-1 ready', (r) => has(r, n1, 1));
      const o1Out = await step([{ pod: o1, ...terminating }, { pod: o2 }, { pod: n1 }], 'old-1 terminating: weight 0', (r) => has(r, o1, 0));
      await step([{ pod: o2 }, { pod: n1 }], 'old-1 gone from the slice', (r) => !has(r, o1, 1) && has(r, o2, 1));
      o1.server?.kill('SIGKILL');
      await step([{ pod: o2 }, { pod: n1 }, { pod: n2 }], 'new-2 ready', (r) => has(r, n2, 1));
      const o2Out = await step([{ pod: o2, ...terminating }, { pod: n1 }, { pod: n2 }], 'old-2 terminating: weight 0', (r) => has(r, o2, 0));
      await step([{ pod: n1 }, { pod: n2 }], 'old-2 gone from the slice', (r) => !has(r, o2, 1) && has(r, n1, 1) && has(r, n2, 1));
      o2.server?.kill('SIGKILL');
      await sleep(2000);

      traffic.kill('SIGTERM');
      await traffic.exited;
      const answers = traffic.answers();
      const late = (pod: string, after: number): Answer[] => answers.filter((a) => a.pod === pod && a.t > after);
      process.stdout.write(
        `# rolling update: ${answers.length} requests, ${failures(answers).length} failed; answered by ${[...new Set(answers.map((a) => a.pod))].join(', ')}\n`,
      );
      assert.deepEqual(failures(answers).slice(0, 5), [], `failed requests out of ${answers.length}`);
      assert.deepEqual(late('old-1', o1Out), [], 'old-1 got new connections after turning terminating');
      assert.deepEqual(late('old-2', o2Out), [], 'old-2 got new connections after turning terminating');
      for (const p of ['new-1', 'new-2'])
        assert.ok(
          answers.some((a) => a.pod === p),
          `${p} answered`,
        );
      assert.ok(agent.running, 'agent still running');
    }).finally(() => api.close());
  },
);

test('UDP backend replaced: the first query after the sync is answered by the new pod (conntrack flushed)', { timeout: 900_000 }, async () => {
  await FaultWorld.with(['dns-old', 'dns-new'], async (w) => {
    const [oldPod, newPod] = [w.pod('dns-old'), w.pod('dns-new')];
    const dir = join(w.work, 'manifests');
    mkdirSync(dir);
    const file = join(dir, 'dns.json');
    const dnsVip = '10.96.0.53';
    writeManifests(file, [serviceObj('dns', dnsVip, 53, 'UDP', UDP_PORT), sliceObj('dns', [{ pod: oldPod }], 'UDP', UDP_PORT)]);
    const agent = w.agent(['--manifests', dir, '--sync-period', '30s']);
    await until(
      'dns-old serves',
      () => w.reals('UDP', dnsVip, 53),
      (r) => r?.length === 1,
      600_000,
    );
    await agent.waitFor(/agent running/, 60_000);
    const traffic = w.traffic('udp', dnsVip, 53, 100);
    await until(
      'answers from dns-old',
      async () => traffic.answers().filter((a) => a.pod === 'dns-old').length,
      (n) => n >= 5,
    );

    const from = agent.text.length;
    oldPod.server?.kill('SIGKILL');
    writeManifests(file, [serviceObj('dns', dnsVip, 53, 'UDP', UDP_PORT), sliceObj('dns', [{ pod: newPod }], 'UDP', UDP_PORT)]);
    await agent.waitFor(/sync: 1 virtual servers, 1 real servers, \d+ addresses, [1-9]\d* kernel writes/, 60_000, from);
    const synced = Date.now();
    // Longer than the client's 3 s loss deadline: the first queries after the sync have an outcome.
    await sleep(5000);
    traffic.kill('SIGTERM');
    await traffic.exited;
    const after = traffic
      .answers()
      .filter((a) => a.t > synced)
      .sort((a, b) => a.i - b.i);
    process.stdout.write(`# UDP: ${after.length} queries after the sync; first: ${JSON.stringify(after[0])}\n`);
    assert.ok(after.length >= 10, `queries after the sync: ${after.length}`);
    assert.deepEqual(after[0] && { ok: after[0].ok, pod: after[0].pod }, { ok: true, pod: 'dns-new' }, 'the first query after the sync');
    assert.deepEqual(
      after.filter((a) => !a.ok || a.pod !== 'dns-new'),
      [],
      'every later query is answered by dns-new',
    );
    assert.deepEqual(await w.reals('UDP', dnsVip, 53), [`${newPod.address}:${UDP_PORT} 1`], 'the old real server deleted at once');
  });
});

test('netlink ENOBUFS on a dump and a socket that stops answering: deadline, new socket, full verification, no hang', { timeout: 900_000 }, async () => {
  await FaultWorld.with(['web-a'], async (w) => {
    const dir = join(w.work, 'manifests');
    mkdirSync(dir);
    const file = join(dir, 'cluster.json');
    const items: unknown[] = [];
    for (let i = 0; i < 20; i++) items.push(...bulk(i, w.pod('web-a').address));
    writeManifests(file, items);
    // Receives: ~22 per verification dump (services, then each one's reals), so these land in the
    // first periodic verifications, after the first sync.
    const agent = w.agent(['--manifests', dir, '--sync-period', '1s', '--log-level', 'debug'], {
      IPVS_PROXY_ADDON: TEST_ADDON_PATH,
      IPVS_PROXY_FAULTS: 'enobufs:40,hang:90',
    });
    await until(
      '20 virtual servers',
      () => vsCount(w),
      (n) => n === 20,
      600_000,
    );
    await agent.waitFor(/ENOBUFS|state unknown|StateUnknown/i, 90_000);
    await agent.waitFor(/ETIMEDOUT|timed out|NetlinkTimeout/i, 90_000);
    const afterFaults = agent.text.length;
    // Not hung: a change after both faults is programmed, and verifications carry on.
    items.push(...bulk(20, w.pod('web-a').address));
    writeManifests(file, items);
    await until(
      'the 21st virtual server',
      () => vsCount(w),
      (n) => n === 21,
      60_000,
    );
    // Verifications carry on: the periodic check, or the full pass a fault brings.
    await agent.waitFor(/(verify|check): 21 virtual servers/, 30_000, afterFaults);
    assert.equal((await w.rules()).filter((l) => l.startsWith('-a')).length, 21);
    assert.ok(agent.running, `agent exited:\n${agent.text.slice(-2000)}`);
    process.stdout.write(
      `# netlink faults: ${agent.text
        .split('\n')
        .filter((l) => /ENOBUFS|ETIMEDOUT|timed out|state unknown/i.test(l))
        .slice(0, 4)
        .join(' | ')}\n`,
    );
  });
});
