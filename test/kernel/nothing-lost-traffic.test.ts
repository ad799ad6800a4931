// Nothing lost (issue 20) under real traffic, real kernel (VM), with a long-running agent: a
// NodePort is masqueraded from its first answered request (the rules it depends on are written
// before the virtual server); manifest files removed and emptied while the agent runs keep every
// Service answering until the removal is confirmed; a state dir that cannot take the claim means
// a new Service is not programmed while the existing ones keep answering, and once the dir is
// fixed the new Service is programmed and `cleanup` leaves no orphan. Each test builds its own
// namespaces (test/kernel/helpers/faults.ts) and runs the built CLI; the first agent start in a
// VM on a loaded host can take minutes, hence the long first-sync deadlines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownedNetfilter } from './helpers/topology.js';
import { FaultWorld, serviceObj, sleep, sliceObj, until, writeManifests, type Answer, type Proc } from './helpers/faults.js';

const WEB_VIP = '10.96.0.1';
const API_VIP = '10.96.0.2';
const WEB_NODE_PORT = 30080;
const API_NODE_PORT = 30081;

function nodePortService(name: string, ip: string, port: number, nodePort: number): Record<string, unknown> {
  const svc = serviceObj(name, ip, port) as { spec: { type: string; ports: Record<string, unknown>[] } };
  svc.spec.type = 'NodePort';
  svc.spec.ports[0].nodePort = nodePort;
  return svc;
}

/**
 * What the agent owns in the node: virtual servers, kube-ipvs0's addresses and local routes, its
 * iptables rules and ipset members. One shell: under emulation every process started costs.
 */
async function kernel(w: FaultWorld): Promise<Record<string, string[]>> {
  const parts = [
    'ipvsadm -Sn',
    'ip -o addr show dev kube-ipvs0',
    'ip route show table local dev kube-ipvs0',
    'iptables-save -t nat',
    'iptables-save -t filter',
    'ipset save',
  ];
  const out = await w.node.run('sh', ['-c', parts.map((c) => `${c} 2>/dev/null; echo '#part'`).join('; ')]);
  const texts = out.split('#part\n');
  const lines = (k: number): string[] => (texts[k] ?? '').split('\n').filter(Boolean);
  const ours = (k: number): string[] =>
    lines(k)
      .filter((l) => l.includes('IPVS-PROXY'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
      .sort();
  return {
    rules: lines(0).sort(),
    // Link-local IPv6 addresses come with the link, not from the agent.
    addresses: [...lines(1), ...lines(2)]
      .map((l) => l.replace(/^\d+: /, '').replace(/\s+valid_lft.*$/, ''))
      .filter((l) => !/inet6 fe80:/.test(l))
      .sort(),
    nat: ours(3),
    filter: ours(4),
    sets: ours(5),
  };
}

function agentArgs(w: FaultWorld, dir: string): string[] {
  return ['--manifests', dir, '--sync-period', '10s', '--nodeport-addresses', `${w.nodeAddress}/32`];
}

const answered = (p: Proc): number => p.answers().filter((a) => a.ok).length;

/** The answers from the first answered request on (before it, the port did not exist yet). */
function fromFirstAnswer(answers: Answer[]): Answer[] {
  const first = answers.findIndex((a) => a.ok);
  return first < 0 ? [] : answers.slice(first);
}

async function stopTraffic(...procs: Proc[]): Promise<void> {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
}

test('a NodePort is masqueraded from its first answered request: in the first pass and when added to a running agent', { timeout: 900_000 }, async () => {
  await FaultWorld.with(['web-a', 'web-b'], async (w) => {
    const dir = join(w.work, 'manifests');
    mkdirSync(dir);
    const file = join(dir, 'cluster.json');
    // The pods answer with the source address they saw: masqueraded, that is one of the node's
    // addresses (its uplink, or the address it holds on every pod link); unmasqueraded, the client's.
    const nodeAddresses = [w.nodeAddress, '169.254.1.1'];
    const clientAddress = '10.244.9.10';
    const web = [
      nodePortService('web', WEB_VIP, 80, WEB_NODE_PORT),
      sliceObj(
        'web',
        w.pods.map((pod) => ({ pod })),
      ),
    ];
    // Requests run before the agent starts: refused until the virtual server exists.
    const webTraffic = w.traffic('http', w.nodeAddress, WEB_NODE_PORT, 20);
    const apiTraffic = w.traffic('http', w.nodeAddress, API_NODE_PORT, 20);
    writeManifests(file, web);
    const agent = w.agent(agentArgs(w, dir));
    await until(
      'the web NodePort answers 40 requests',
      async () => answered(webTraffic),
      (n) => n >= 40,
      600_000,
    );
    await agent.waitFor(/agent running/, 120_000);
    writeManifests(file, [
      ...web,
      nodePortService('api', API_VIP, 80, API_NODE_PORT),
      sliceObj(
        'api',
        w.pods.map((pod) => ({ pod })),
      ),
    ]);
    await until(
      'the api NodePort, added to the running agent, answers 40 requests',
      async () => answered(apiTraffic),
      (n) => n >= 40,
      120_000,
    );
    await stopTraffic(webTraffic, apiTraffic);

    for (const [name, traffic] of [
      ['web (first pass)', webTraffic],
      ['api (added while running)', apiTraffic],
    ] as const) {
      const all = traffic.answers();
      const served = fromFirstAnswer(all);
      const sources = [...new Set(served.map((a) => a.source))];
      process.stdout.write(
        `# ${name}: ${all.length - served.length} requests refused before the virtual server existed, ${served.length} from the first answer on; sources seen by the pods: ${sources.join(', ')}\n`,
      );
      assert.ok(served.length >= 40, `${name}: answered requests ${served.length}`);
      assert.deepEqual(served.filter((a) => !a.ok).slice(0, 5), [], `${name}: every request from the first answer on is answered`);
      assert.deepEqual(
        served.filter((a) => a.source === clientAddress).slice(0, 5),
        [],
        `${name}: a pod saw the client's own address (answered before the SNAT rule existed)`,
      );
      assert.deepEqual(
        served.filter((a) => !nodeAddresses.includes(a.source ?? '')).slice(0, 5),
        [],
        `${name}: every request reaches the pod from a node address`,
      );
    }
    assert.ok(agent.running, 'agent still running');
  });
});

test(
  'manifest files removed and emptied while the agent runs: a VIP and a NodePort keep answering through the 30 s confirmation, the kernel unchanged until then',
  { timeout: 900_000 },
  async () => {
    await FaultWorld.with(['web-a', 'web-b'], async (w) => {
      const dir = join(w.work, 'manifests');
      mkdirSync(dir);
      const services = join(dir, 'services.json');
      const endpoints = join(dir, 'endpoints.json');
      writeManifests(services, [nodePortService('web', WEB_VIP, 80, WEB_NODE_PORT)]);
      writeManifests(endpoints, [
        sliceObj(
          'web',
          w.pods.map((pod) => ({ pod })),
        ),
      ]);
      const agent = w.agent(agentArgs(w, dir));
      await until(
        'web has 2 real servers',
        () => w.reals('TCP', WEB_VIP, 80),
        (r) => r?.length === 2,
        600_000,
      );
      await agent.waitFor(/agent running/, 120_000);
      const vipTraffic = w.traffic('http', WEB_VIP, 80, 50);
      const nodePortTraffic = w.traffic('http', w.nodeAddress, WEB_NODE_PORT, 50);
      await until(
        'traffic flows to the VIP and the NodePort',
        async () => Math.min(answered(vipTraffic), answered(nodePortTraffic)),
        (n) => n >= 10,
        60_000,
      );
      const before = await kernel(w);
      assert.ok(JSON.stringify(before).includes(`${w.nodeAddress}:${WEB_NODE_PORT}`), 'the NodePort is programmed');

      // The source now yields nothing: one file gone, the other truncated to zero bytes.
      const from = agent.text.length;
      rmSync(services);
      writeFileSync(endpoints, '');
      const removedAt = Date.now();
      await agent.waitFor(/services\.json vanished; keeping its 1 object\(s\) until a read in 30 s confirms it/, 30_000, from);
      await agent.waitFor(/endpoints\.json is empty; keeping its 1 object\(s\) until a read in 30 s confirms it/, 30_000, from);
      // Well into the confirmation delay (a snapshot takes seconds under emulation): nothing changed.
      await sleep(Math.max(0, removedAt + 15_000 - Date.now()));
      const held = await kernel(w);
      const heldUntil = Date.now();
      assert.ok(heldUntil - removedAt < 30_000, `the snapshot ended ${heldUntil - removedAt} ms after the removal, past the confirmation delay`);
      assert.deepEqual(held, before, 'the kernel as it was before the files were removed');

      // Still gone and still empty when read again: believed, with the counts, and then deleted.
      await agent.waitFor(/services\.json still gone after 30 s: deleting its 1 object\(s\)/, 60_000, from);
      await agent.waitFor(/endpoints\.json still empty after 30 s: deleting its 1 object\(s\)/, 60_000, from);
      await until(
        "web's virtual servers deleted",
        () => w.reals('TCP', WEB_VIP, 80),
        (r) => r === undefined,
        60_000,
      );
      await stopTraffic(vipTraffic, nodePortTraffic);
      for (const [name, traffic] of [
        ['VIP', vipTraffic],
        ['NodePort', nodePortTraffic],
      ] as const) {
        const during = traffic.answers().filter((a) => a.t >= removedAt && a.t <= heldUntil);
        process.stdout.write(
          `# files removed and emptied, ${name}: ${during.length} requests in the first ${heldUntil - removedAt} ms of the hold, ${during.filter((a) => !a.ok).length} failed\n`,
        );
        assert.ok(during.length >= 20, `${name}: requests during the hold: ${during.length}`);
        assert.deepEqual(during.filter((a) => !a.ok).slice(0, 5), [], `${name}: failed requests during the hold`);
      }
      assert.ok(agent.running, 'agent still running');
    });
  },
);

test(
  'the state dir replaced by a file while the agent runs: a new Service is not programmed, the others keep answering; fixed, it is programmed and cleanup leaves no orphan',
  { timeout: 900_000 },
  async () => {
    await FaultWorld.with(['web-a', 'web-b'], async (w) => {
      const dir = join(w.work, 'manifests');
      mkdirSync(dir);
      const file = join(dir, 'cluster.json');
      const state = join(w.work, 'state');
      const pods = w.pods.map((pod) => ({ pod }));
      const web = [nodePortService('web', WEB_VIP, 80, WEB_NODE_PORT), sliceObj('web', pods)];
      const pristine = await kernel(w);
      writeManifests(file, web);
      const agent = w.agent(agentArgs(w, dir));
      await until(
        'web has 2 real servers',
        () => w.reals('TCP', WEB_VIP, 80),
        (r) => r?.length === 2,
        600_000,
      );
      await agent.waitFor(/agent running/, 120_000);
      const vipTraffic = w.traffic('http', WEB_VIP, 80, 50);
      const nodePortTraffic = w.traffic('http', w.nodeAddress, WEB_NODE_PORT, 50);
      await until(
        'traffic flows to the VIP and the NodePort',
        async () => Math.min(answered(vipTraffic), answered(nodePortTraffic)),
        (n) => n >= 10,
        60_000,
      );
      const before = await kernel(w);

      renameSync(state, `${state}.away`);
      writeFileSync(state, '');
      const from = agent.text.length;
      writeManifests(file, [...web, nodePortService('api', API_VIP, 80, API_NODE_PORT), sliceObj('api', pods)]);
      const [refused] = await agent.waitFor(/[^\n]*nothing written to the kernel, the claim failed[^\n]*/, 60_000, from);
      assert.match(refused, /cannot write the ownership record in the state dir \S*state: not a directory/);
      assert.doesNotMatch(agent.text.slice(from), /EEXIST[^\n]*mkdir/, 'the problem in words, not as a syscall error');
      // The runner retries failed passes with backoff: several of them meet the same state dir.
      await sleep(10_000);
      assert.deepEqual(await kernel(w), before, 'nothing of the new Service programmed, nothing else changed');
      assert.equal(await w.reals('TCP', API_VIP, 80), undefined);

      rmSync(state);
      renameSync(`${state}.away`, state);
      const fixedAt = Date.now();
      await until(
        'api programmed once the state dir is fixed',
        () => w.reals('TCP', API_VIP, 80),
        (r) => r?.length === 2,
        120_000,
      );
      process.stdout.write(`# state dir fixed: api programmed ${Date.now() - fixedAt} ms later\n`);
      const apiTraffic = w.traffic('http', API_VIP, 80, 50);
      await until(
        'the api VIP answers',
        async () => answered(apiTraffic),
        (n) => n >= 5,
        60_000,
      );
      await stopTraffic(vipTraffic, nodePortTraffic, apiTraffic);
      for (const [name, traffic] of [
        ['VIP', vipTraffic],
        ['NodePort', nodePortTraffic],
      ] as const) {
        const answers = traffic.answers();
        process.stdout.write(`# state dir unwritable, ${name}: ${answers.length} requests, ${answers.filter((a) => !a.ok).length} failed\n`);
        assert.ok(answers.length >= 50, `${name}: requests during the test: ${answers.length}`);
        assert.deepEqual(answers.filter((a) => !a.ok).slice(0, 5), [], `${name}: failed requests`);
      }

      agent.kill('SIGTERM');
      await agent.exited;
      const cleanup = w.command(['cleanup', '--state-dir', state, '--node-name', 'node-a']);
      const exit = await cleanup.exited;
      assert.equal(exit.code, 0, cleanup.text);
      assert.deepEqual(await kernel(w), pristine, 'cleanup removed everything the agent programmed: no orphan');
      assert.deepEqual(await ownedNetfilter(w.node), { chains: [], sets: [] }, 'no chain or set left');
    });
  },
);
