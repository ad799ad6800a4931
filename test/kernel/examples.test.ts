// Each example in examples/kinds, served once by the real agent in a fresh namespace: the kernel
// table (read back with ipvsadm) and kube-ipvs0's addresses are what the manifest means.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNetns, type Netns } from './helpers/netns.js';
import { vipAddresses } from './helpers/topology.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(repo, 'bin/ipvs-proxy.js');
const stateRoot = mkdtempSync(join(tmpdir(), 'examples-'));
after(() => rmSync(stateRoot, { recursive: true, force: true }));

/** A node namespace with one uplink, 192.168.10.5/24, and a default route (real servers need a route). */
async function nodeNamespace(): Promise<Netns> {
  const ns = await createNetns('ex');
  await ns.run('ip', ['link', 'add', 'eth0', 'type', 'dummy']);
  await ns.run('ip', ['addr', 'add', '192.168.10.5/24', 'dev', 'eth0']);
  await ns.run('ip', ['link', 'set', 'eth0', 'up']);
  await ns.run('ip', ['route', 'add', 'default', 'via', '192.168.10.1', 'dev', 'eth0']);
  return ns;
}

interface Served {
  rules: string[];
  addresses: string[];
  summary: string;
}

async function serveOnce(example: string, prepare?: (ns: Netns) => Promise<void>): Promise<Served> {
  const ns = await nodeNamespace();
  try {
    await prepare?.(ns);
    const r = await ns.exec('node', [
      cli,
      'run',
      '--once',
      '--manifests',
      example.startsWith('/') ? example : join(repo, 'examples', example),
      '--node-name',
      'node-a',
      '--state-dir',
      join(stateRoot, ns.name),
      '--log-format',
      'text',
    ]);
    assert.equal(r.code, 0, `run --once on ${example} exited ${r.code}: ${r.stderr}`);
    const saved = await ns.run('ipvsadm', ['-Sn']);
    // IPv4 VIPs local on kube-ipvs0, as addresses or as the agent's local routes (--vip-mode).
    const addresses = (await vipAddresses(ns)).filter((a) => !a.includes(':'));
    return { rules: saved.trim().split('\n').filter(Boolean).sort(), addresses, summary: r.stdout.trim() };
  } finally {
    await ns.destroy();
  }
}

const sorted = (lines: string[]): string[] => [...lines].sort();

test('ClusterIP with a UDP and a TCP port: two virtual servers on one VIP', async () => {
  const s = await serveOnce('kinds/clusterip.yaml');
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -u 10.96.0.10:53 -s rr',
      '-a -u 10.96.0.10:53 -r 10.244.0.5:53 -m -w 1',
      '-a -u 10.96.0.10:53 -r 10.244.0.6:53 -m -w 1',
      '-A -t 10.96.0.10:53 -s rr',
      '-a -t 10.96.0.10:53 -r 10.244.0.5:53 -m -w 1',
      '-a -t 10.96.0.10:53 -r 10.244.0.6:53 -m -w 1',
    ]),
  );
  assert.deepEqual(s.addresses, ['10.96.0.10/32']);
  assert.match(s.summary, /^synced: 2 virtual servers, 4 real servers, 1 addresses, \d+ kernel writes, [\d.]+ ms$/);
});

test('NodePort: the ClusterIP plus one virtual server per node address, never bound on kube-ipvs0', async () => {
  const s = await serveOnce('kinds/nodeport.yaml');
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -t 10.96.1.20:80 -s rr',
      '-a -t 10.96.1.20:80 -r 10.244.1.21:8080 -m -w 1',
      '-a -t 10.96.1.20:80 -r 10.244.2.22:8080 -m -w 1',
      '-A -t 192.168.10.5:30100 -s rr',
      '-a -t 192.168.10.5:30100 -r 10.244.1.21:8080 -m -w 1',
      '-a -t 192.168.10.5:30100 -r 10.244.2.22:8080 -m -w 1',
    ]),
  );
  assert.deepEqual(s.addresses, ['10.96.1.20/32']);
});

test('headless and ExternalName services program nothing', async () => {
  for (const example of ['kinds/headless.yaml', 'kinds/externalname.yaml']) {
    const s = await serveOnce(example);
    assert.deepEqual(s.rules, [], example);
    assert.deepEqual(s.addresses, [], example);
  }
});

test('externalIPs are served and bound like the ClusterIP', async () => {
  const s = await serveOnce('kinds/externalips.yaml');
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -t 10.96.1.40:443 -s rr',
      '-a -t 10.96.1.40:443 -r 10.244.3.41:8443 -m -w 1',
      '-A -t 192.0.2.50:443 -s rr',
      '-a -t 192.0.2.50:443 -r 10.244.3.41:8443 -m -w 1',
    ]),
  );
  assert.deepEqual(s.addresses, ['10.96.1.40/32', '192.0.2.50/32']);
});

test('a service without a selector is served from its hand-made EndpointSlice', async () => {
  const s = await serveOnce('kinds/no-selector-slice.yaml');
  assert.deepEqual(
    s.rules,
    sorted(['-A -t 10.96.1.50:3306 -s rr', '-a -t 10.96.1.50:3306 -r 172.16.5.10:3306 -m -w 1', '-a -t 10.96.1.50:3306 -r 172.16.5.11:3306 -m -w 1']),
  );
});

test('legacy Endpoints are mirrored: ready addresses served, notReadyAddresses not', async () => {
  const s = await serveOnce('kinds/no-selector-endpoints.yaml');
  assert.deepEqual(
    s.rules,
    sorted(['-A -t 10.96.1.60:6379 -s rr', '-a -t 10.96.1.60:6379 -r 172.16.6.10:6379 -m -w 1', '-a -t 10.96.1.60:6379 -r 172.16.6.11:6379 -m -w 1']),
  );
});

test('ClientIP session affinity makes a persistent virtual server with the configured timeout', async () => {
  const s = await serveOnce('kinds/session-affinity.yaml');
  assert.deepEqual(
    s.rules,
    sorted(['-A -t 10.96.1.70:80 -s rr -p 600', '-a -t 10.96.1.70:80 -r 10.244.1.71:8080 -m -w 1', '-a -t 10.96.1.70:80 -r 10.244.2.72:8080 -m -w 1']),
  );
});

test('the scheduler annotation picks sh with its flags for that service only', async () => {
  const s = await serveOnce('kinds/scheduler-annotation.yaml');
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -t 10.96.1.80:80 -s sh -b sh-fallback,sh-port',
      '-a -t 10.96.1.80:80 -r 10.244.1.81:8080 -m -w 1',
      '-a -t 10.96.1.80:80 -r 10.244.2.82:8080 -m -w 1',
    ]),
  );
});

test('the seed example: default/hostnames on 10.0.1.175:80 to three pods on 9376, plus its NodePort', async () => {
  const s = await serveOnce('hostnames');
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -t 10.0.1.175:80 -s rr',
      '-a -t 10.0.1.175:80 -r 10.244.1.7:9376 -m -w 1',
      '-a -t 10.0.1.175:80 -r 10.244.2.3:9376 -m -w 1',
      '-a -t 10.0.1.175:80 -r 10.244.3.6:9376 -m -w 1',
      '-A -t 192.168.10.5:30080 -s rr',
      '-a -t 192.168.10.5:30080 -r 10.244.1.7:9376 -m -w 1',
      '-a -t 192.168.10.5:30080 -r 10.244.2.3:9376 -m -w 1',
      '-a -t 192.168.10.5:30080 -r 10.244.3.6:9376 -m -w 1',
    ]),
  );
  assert.deepEqual(s.addresses, ['10.0.1.175/32']);
});

// kube-proxy's node address rules, on the kernel's own address list: loopback and IPv6
// link-local addresses get no NodePort, an externalIP already on eth0 is served but not bound to
// kube-ipvs0, and externalTrafficPolicy Local on a ClusterIP service with externalIPs keeps the
// externalIP virtual server to this node's endpoint.
const NODE_ADDRESSES = `apiVersion: v1
kind: Service
metadata: {name: np, namespace: default}
spec:
  type: NodePort
  clusterIPs: [10.96.2.10, "fd00::10"]
  ipFamilies: [IPv4, IPv6]
  externalIPs: [192.168.10.5, 192.0.2.60]
  externalTrafficPolicy: Local
  ports: [{port: 80, nodePort: 30200, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ext-local, namespace: default}
spec:
  clusterIP: 10.96.2.20
  externalIPs: [192.0.2.70]
  externalTrafficPolicy: Local
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-local-a, namespace: default, labels: {kubernetes.io/service-name: ext-local}}
addressType: IPv4
endpoints:
- {addresses: [10.244.1.21], nodeName: node-a}
- {addresses: [10.244.2.22], nodeName: node-b}
ports: [{port: 8443, protocol: TCP}]
`;

test('node addresses as kube-proxy: no NodePort on loopback or fe80::, a node-address externalIP not bound, Local on ClusterIP+externalIPs', async () => {
  const file = join(stateRoot, 'node-addresses.yaml');
  writeFileSync(file, NODE_ADDRESSES);
  const s = await serveOnce(file, async (ns) => {
    await ns.run('ip', ['link', 'set', 'lo', 'up']);
    await ns.run('ip', ['addr', 'add', '2001:db8::5/64', 'dev', 'eth0', 'nodad']);
    await ns.run('ip', ['addr', 'add', 'fe80::5/64', 'dev', 'eth0', 'nodad']);
  });
  assert.deepEqual(
    s.rules,
    sorted([
      '-A -t 10.96.2.10:80 -s rr',
      '-A -t [fd00::10]:80 -s rr',
      '-A -t 192.168.10.5:30200 -s rr',
      '-A -t [2001:db8::5]:30200 -s rr',
      '-A -t 192.168.10.5:80 -s rr',
      '-A -t 192.0.2.60:80 -s rr',
      '-A -t 10.96.2.20:443 -s rr',
      '-a -t 10.96.2.20:443 -r 10.244.1.21:8443 -m -w 1',
      '-a -t 10.96.2.20:443 -r 10.244.2.22:8443 -m -w 1',
      '-A -t 192.0.2.70:443 -s rr',
      '-a -t 192.0.2.70:443 -r 10.244.1.21:8443 -m -w 1',
    ]),
  );
  assert.deepEqual(s.addresses, ['10.96.2.10/32', '10.96.2.20/32', '192.0.2.60/32', '192.0.2.70/32']);
});
