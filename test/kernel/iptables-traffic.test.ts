// Real traffic through IPVS and our iptables rules, between network namespaces: a "node" with
// kube-ipvs0 and IPVS services programmed with ipvsadm (as the agent would), two pods on it
// answering with their name and the source address they saw, and an outside client.
//
//   client 192.168.50.2 ──veth── 192.168.50.1  node  10.244.1.1 ──veth── 10.244.1.2 pod-a
//                                  kube-ipvs0:        10.244.2.1 ──veth── 10.244.2.2 pod-b
//                                  10.96.0.10 (ClusterIP), 172.17.0.1 (LoadBalancer)
//   host service on the node: 0.0.0.0:9999 (what #72236 exposed through every VIP)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { IptablesManager } from '../../src/proxier/iptables-policy/manager.js';
import { ExecCommandRunner } from '../../src/iptables/runner.js';
import type { IptablesSettings } from '../../src/proxier/iptables-policy/sets.js';
import type { DesiredState } from '../../src/model/types.js';
import { real, stateOf, vs } from '../unit/iptables/fixtures.js';
import { createNetns, type Netns } from './helpers/netns.js';

const hasIpvs = existsSync('/proc/net/ip_vs');
const SETTINGS: IptablesSettings = { masqueradeAll: false, clusterCidr: [], masqueradeBit: 14, families: ['inet'] };
const NODE_ADDRESSES = ['192.168.50.1', '10.244.1.1', '10.244.2.1'];
const POD_A = real('10.244.1.2', 8080);
const POD_B = real('10.244.2.2', 8080);

function desired(sourceRanges: string[]): DesiredState {
  return stateOf([
    vs({ kind: 'ClusterIP', address: '10.96.0.10', port: 80, reals: [POD_A, POD_B] }),
    vs({ kind: 'NodePort', address: '192.168.50.1', port: 30080, reals: [POD_A, POD_B] }),
    // externalTrafficPolicy Local: the model keeps only this node's endpoints (pod-a here).
    vs({ kind: 'NodePort', address: '192.168.50.1', port: 30081, reals: [POD_A], externalLocal: true }),
    vs({ kind: 'LoadBalancer', address: '172.17.0.1', port: 80, reals: [POD_A, POD_B], sourceRanges }),
  ]);
}

/** A tiny HTTP server in a namespace that answers "<name> <source address>". */
async function startServer(ns: Netns, name: string, port: number): Promise<ChildProcess> {
  const script =
    `require('http').createServer((q,s)=>s.end(process.env.POD+' '+q.socket.remoteAddress.replace('::ffff:',''))).` +
    `listen(${port},()=>console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', ns.name, 'node', '-e', script], { env: { ...process.env, POD: name }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.match(chunk.toString(), /ready/);
  return child;
}

interface Answer {
  ok: boolean;
  /** ECONNREFUSED when refused, TIMEOUT when nothing answered. */
  error?: string;
  pod?: string;
  source?: string;
}

/**
 * A long-lived HTTP client inside a namespace, one request per line on its stdin: starting a
 * process per request costs seconds under the VM's emulation.
 */
class NetnsHttpClient {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(ns: Netns): Promise<NetnsHttpClient> {
    const script =
      `const http=require('http');require('readline').createInterface({input:process.stdin}).on('line',(l)=>{` +
      `const [url,t]=l.split(' ');const say=(o)=>console.log(JSON.stringify(o));` +
      `const q=http.get(url,{agent:false,timeout:+t},(r)=>{let b='';r.on('data',(d)=>b+=d);r.on('end',()=>say({ok:true,body:b}))});` +
      `q.on('timeout',()=>q.destroy(Object.assign(new Error('timeout'),{code:'TIMEOUT'})));` +
      `q.on('error',(e)=>say({ok:false,error:e.code}))});console.log('ready')`;
    const child = spawn('ip', ['netns', 'exec', ns.name, 'node', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const client = new NetnsHttpClient(child);
    assert.equal((await client.lines.next()).value, 'ready');
    return client;
  }

  async get(url: string, timeoutMs = 3000): Promise<Answer> {
    this.child.stdin!.write(`${url} ${timeoutMs}\n`);
    const line = await this.lines.next();
    assert.equal(line.done, false, 'client exited');
    const r = JSON.parse(line.value as string) as { ok: boolean; body?: string; error?: string };
    if (!r.ok) return { ok: false, error: r.error };
    const [pod, source] = (r.body ?? '').trim().split(' ');
    return { ok: true, pod, source };
  }

  async getMany(url: string, n: number): Promise<Answer[]> {
    const out: Answer[] = [];
    for (let i = 0; i < n; i++) out.push(await this.get(url));
    return out;
  }

  stop(): void {
    this.child.kill();
  }
}

for (const backend of ['nft', 'legacy'] as const) {
  describe(`traffic through IPVS with our iptables rules (${backend})`, { skip: !hasIpvs && 'needs IPVS: run in the VM (test/vm/run.sh)' }, () => {
    let node: Netns, podA: Netns, podB: Netns, clientNs: Netns;
    let client: NetnsHttpClient, fromPodA: NetnsHttpClient;
    const servers: ChildProcess[] = [];
    let manager: IptablesManager;

    before(async () => {
      [node, podA, podB, clientNs] = await Promise.all(['node', 'pa', 'pb', 'cl'].map((p) => createNetns(p)));
      // One shell for the whole topology and one ipvsadm -R: every process costs seconds here.
      const script = [
        `ip -n ${node.name} link add kube-ipvs0 type dummy`,
        `ip -n ${node.name} addr add 10.96.0.10/32 dev kube-ipvs0`,
        `ip -n ${node.name} addr add 172.17.0.1/32 dev kube-ipvs0`,
        `ip -n ${node.name} link set kube-ipvs0 up`,
      ];
      const peers: [Netns, string, string, string][] = [
        [podA, 'veth-a', '10.244.1.1', '10.244.1.2'],
        [podB, 'veth-b', '10.244.2.1', '10.244.2.2'],
        [clientNs, 'veth-c', '192.168.50.1', '192.168.50.2'],
      ];
      for (const [peer, link, nodeAddr, peerAddr] of peers) {
        script.push(
          `ip -n ${node.name} link add ${link} type veth peer name eth0 netns ${peer.name}`,
          `ip -n ${node.name} addr add ${nodeAddr}/24 dev ${link}`,
          `ip -n ${node.name} link set ${link} up`,
          `ip -n ${peer.name} addr add ${peerAddr}/24 dev eth0`,
          `ip -n ${peer.name} link set eth0 up`,
          `ip -n ${peer.name} route add default via ${nodeAddr}`,
        );
      }
      script.push(`ip netns exec ${node.name} sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1`);
      await node.run('sh', ['-ec', script.join('\n')]);
      // The IPVS table the agent would program for desired(); routes to the pods exist by now.
      const ipvs = [
        '-A -t 10.96.0.10:80 -s rr',
        '-A -t 192.168.50.1:30080 -s rr',
        '-A -t 192.168.50.1:30081 -s rr',
        '-A -t 172.17.0.1:80 -s rr',
        '-a -t 192.168.50.1:30081 -r 10.244.1.2:8080 -m',
      ];
      for (const vip of ['10.96.0.10:80', '192.168.50.1:30080', '172.17.0.1:80']) {
        for (const pod of ['10.244.1.2:8080', '10.244.2.2:8080']) ipvs.push(`-a -t ${vip} -r ${pod} -m`);
      }
      await node.run('ipvsadm', ['-R'], { input: ipvs.join('\n') + '\n' });
      servers.push(...(await Promise.all([startServer(podA, 'pod-a', 8080), startServer(podB, 'pod-b', 8080), startServer(node, 'host-service', 9999)])));
      [client, fromPodA] = await Promise.all([NetnsHttpClient.start(clientNs), NetnsHttpClient.start(podA)]);
      manager = new IptablesManager({ runner: new ExecCommandRunner({ prefix: ['ip', 'netns', 'exec', node.name] }), settings: SETTINGS, backend });
    });

    after(async () => {
      for (const s of servers) s.kill();
      client?.stop();
      fromPodA?.stop();
      await Promise.all([node, podA, podB, clientNs].filter((ns) => ns !== undefined).map((ns) => ns.destroy()));
    });

    it('without our rules: a host service answers on any VIP port (kubernetes#72236), NodePort keeps the client source', async () => {
      const a = await client.get('http://10.96.0.10:9999/');
      assert.equal(a.pod, 'host-service');
      // And IPVS alone does not SNAT: the node-address assertions below are our rules' doing.
      const n = await client.get('http://192.168.50.1:30080/');
      assert.equal(n.source, '192.168.50.2');
    });

    it('programs the rules', async () => {
      assert.ok((await manager.sync(desired(['192.168.50.0/24']))) >= 2);
      assert.equal(await manager.sync(desired(['192.168.50.0/24'])), 0);
    });

    it('NodePort: every backend answers and sees the node address', async () => {
      const answers = await client.getMany('http://192.168.50.1:30080/', 4);
      assert.ok(
        answers.every((a) => a.ok),
        JSON.stringify(answers),
      );
      assert.deepEqual(new Set(answers.map((a) => a.pod)), new Set(['pod-a', 'pod-b']));
      for (const a of answers) assert.ok(NODE_ADDRESSES.includes(a.source ?? ''), `SNATed to a node address, saw ${a.source}`);
    });

    it('NodePort with externalTrafficPolicy Local: only the local pod answers, and sees the client', async () => {
      const answers = await client.getMany('http://192.168.50.1:30081/', 3);
      assert.deepEqual(
        answers.map((a) => [a.pod, a.source]),
        Array(3).fill(['pod-a', '192.168.50.2']),
      );
    });

    it('pod to ClusterIP keeps the pod source; hairpin to itself works', async () => {
      const answers = await fromPodA.getMany('http://10.96.0.10/', 4);
      assert.ok(
        answers.every((a) => a.ok),
        JSON.stringify(answers),
      );
      const byPod = new Map(answers.map((a) => [a.pod, a.source]));
      assert.equal(byPod.get('pod-b'), '10.244.1.2', 'source kept');
      assert.equal(byPod.get('pod-a'), '10.244.1.1', 'hairpin SNATed to the node');
    });

    it('an undeclared port on a VIP is refused while the declared one works', async () => {
      assert.equal((await client.get('http://10.96.0.10:9999/')).error, 'ECONNREFUSED');
      assert.equal((await fromPodA.get('http://10.96.0.10:9999/')).error, 'ECONNREFUSED');
      assert.equal((await client.get('http://172.17.0.1:9999/')).error, 'ECONNREFUSED');
      assert.ok((await client.get('http://10.96.0.10/')).ok);
      // The node's own address is not a VIP: its services stay reachable.
      assert.equal((await client.get('http://192.168.50.1:9999/')).pod, 'host-service');
    });

    it('loadBalancerSourceRanges admit the listed sources and drop the rest', async () => {
      const admitted = await client.getMany('http://172.17.0.1/', 2);
      assert.ok(
        admitted.every((a) => a.ok && NODE_ADDRESSES.includes(a.source ?? '')),
        JSON.stringify(admitted),
      );
      assert.equal(await manager.sync(desired(['203.0.113.0/24'])), 1, 'one ipset write');
      assert.equal((await client.get('http://172.17.0.1/', 1500)).error, 'TIMEOUT', 'dropped: the client times out');
      await manager.sync(desired([]));
      assert.ok((await client.get('http://172.17.0.1/')).ok);
    });

    it('cleanup removes our rules and sets, and traffic is as before', async () => {
      assert.ok((await manager.cleanup()) >= 2);
      assert.equal((await node.run(`iptables-${backend}-save`, [])).includes('IPVS-PROXY'), false);
      assert.equal((await node.run('ipset', ['list', '-n'])).trim(), '');
      assert.equal((await client.get('http://10.96.0.10:9999/')).pod, 'host-service');
    });
  });
}
