// A small world for the fault tests in the VM: a node namespace, pod namespaces joined to it by
// veth (each pod answers its own name over HTTP on 9376 and over UDP on 5353), a client namespace
// that sends continuous traffic and logs every answer, the agent as a real process, and a TCP
// forwarder so the agent in the node reaches a fixture API server on the root's loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, type Netns } from './netns.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(repo, 'bin/ipvs-proxy.js');
export const HTTP_PORT = 9376;
export const UDP_PORT = 5353;

const POD_SERVER = `
const http = require('node:http'), dgram = require('node:dgram');
const [name, hp, up] = process.argv.slice(1);
// The answer names the pod and the source address it saw (the client's, or the node's when masqueraded).
const s = http.createServer((req, res) => { res.setHeader('connection', 'close'); res.end(name + ' ' + req.socket.remoteAddress + '\\n'); });
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(name + ' ' + m.toString(), r.port, r.address));
u.bind(Number(up), '0.0.0.0', () => s.listen(Number(hp), '0.0.0.0', () => console.log('listening')));
`;

/** Continuous traffic: one JSON line per request {i, t (send time), ok, pod?, source?, err?}. */
const CLIENT = `
const http = require('node:http'), dgram = require('node:dgram');
const [mode, host, port, everyMs] = process.argv.slice(1);
let i = 0;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
if (mode === 'http') {
  const once = () => {
    const n = i++, t = Date.now();
    const req = http.get({ host, port: Number(port), path: '/', agent: false, timeout: 3000 }, (res) => {
      let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => { const [pod, source] = b.trim().split(' '); out({ i: n, t, ok: res.statusCode === 200, pod, source }); setTimeout(once, Number(everyMs)); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { out({ i: n, t, ok: false, err: e.code || e.message }); setTimeout(once, Number(everyMs)); });
  };
  once();
} else {
  // One socket, one source port throughout: the case where a stale conntrack entry blackholes.
  const sock = dgram.createSocket('udp4');
  const pending = new Map();
  sock.on('message', (m) => { const [pod, id] = m.toString().split(' '); const n = Number(id); const t = pending.get(n); if (t === undefined) return; pending.delete(n); out({ i: n, t, ok: true, pod }); });
  // A query counts as lost after 3 s: under emulation, with the agent's post-sync processes
  // (iptables-restore, conntrack) on the same 2 vCPUs, a pod's answer was once seen to need over 1 s.
  sock.bind(40053, () => setInterval(() => {
    for (const [n, t] of pending) if (Date.now() - t > 3000) { pending.delete(n); out({ i: n, t, ok: false, err: 'no answer' }); }
    const n = i++; pending.set(n, Date.now()); sock.send(String(n), Number(port), host);
  }, Number(everyMs)));
}
`;

/** One request's outcome; source is the address the pod saw it come from (HTTP only). */
export interface Answer {
  i: number;
  t: number;
  ok: boolean;
  pod?: string;
  source?: string;
  err?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
    await sleep(100);
  }
}

/** A child process whose output lines are kept. */
export class Proc {
  text = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    const take = (c: Buffer): void => {
      this.text += c.toString();
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  kill(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }
  async waitFor(re: RegExp, timeoutMs = 120_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      if (!this.running) throw new Error(`process exited before ${re}:\n${this.text.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${this.text.slice(-3000)}`);
      await sleep(50);
    }
  }
  answers(): Answer[] {
    return this.text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Answer);
  }
}

export interface Pod {
  name: string;
  address: string;
  ns: Netns;
  server?: Proc;
}

export class FaultWorld {
  readonly pods: Pod[] = [];
  client!: Netns;
  readonly work = mkdtempSync(join(tmpdir(), 'faults-'));
  private readonly procs: Proc[] = [];
  private readonly agents: Proc[] = [];
  private readonly forwarders: Server[] = [];
  private readonly uplink = `fu${randomBytes(3).toString('hex')}`;
  readonly nodeAddress = '172.30.77.2';
  readonly rootAddress = '172.30.77.1';
  private podCount = 0;

  private constructor(readonly node: Netns) {}

  /** Build a world, run fn, and on failure add the agents' logs to the error; always clean up. */
  static async with(podNames: readonly string[], fn: (w: FaultWorld) => Promise<void>): Promise<void> {
    const w = await FaultWorld.create(podNames);
    try {
      await fn(w);
    } catch (err) {
      // The stack too: the reporter prints an assertion's stack, captured with the message before this.
      if (err instanceof Error) {
        const logs = `\n${w.agentLogs()}`;
        err.message += logs;
        if (err.stack !== undefined) err.stack += logs;
      }
      throw err;
    } finally {
      await w.destroy();
    }
  }

  static async create(podNames: readonly string[]): Promise<FaultWorld> {
    const w = new FaultWorld(await createNetns('fnode'));
    try {
      await w.node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      await root('ip', ['link', 'add', w.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', w.node.name]);
      await root('ip', ['addr', 'add', `${w.rootAddress}/24`, 'dev', w.uplink]);
      await root('ip', ['link', 'set', w.uplink, 'up']);
      await w.node.run('ip', ['addr', 'add', `${w.nodeAddress}/24`, 'dev', 'eth0']);
      await w.node.run('ip', ['link', 'set', 'eth0', 'up']);
      w.client = await w.attach('10.244.9.10');
      for (const name of podNames) await w.addPod(name);
    } catch (err) {
      await w.destroy();
      throw err;
    }
    return w;
  }

  /** A pod namespace at 10.244.1.(11+n) with its HTTP and UDP server running. */
  async addPod(name: string): Promise<Pod> {
    const address = `10.244.1.${11 + this.podCount}`;
    const pod: Pod = { name, address, ns: await this.attach(address) };
    pod.server = this.spawnIn(pod.ns, [process.execPath, '-e', POD_SERVER, name, String(HTTP_PORT), String(UDP_PORT)]);
    await pod.server.waitFor(/listening/, 60_000);
    this.pods.push(pod);
    return pod;
  }

  pod(name: string): Pod {
    const p = this.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  private async attach(address: string): Promise<Netns> {
    const side = `fv${this.podCount++}`;
    const ns = await createNetns('fpod');
    await root('ip', ['link', 'add', side, 'netns', this.node.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await ns.run('ip', ['addr', 'add', `${address}/32`, 'dev', 'eth0']);
    await ns.run('ip', ['link', 'set', 'eth0', 'up']);
    await ns.run('ip', ['route', 'add', '169.254.1.1', 'dev', 'eth0']);
    await ns.run('ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await this.node.run('ip', ['addr', 'add', '169.254.1.1/32', 'dev', side]);
    await this.node.run('ip', ['link', 'set', side, 'up']);
    await this.node.run('ip', ['route', 'add', `${address}/32`, 'dev', side]);
    return ns;
  }

  spawnIn(ns: Netns, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Proc {
    const p = new Proc(spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env }));
    this.procs.push(p);
    return p;
  }

  /** `ipvs-proxy run` in the node namespace. */
  agent(args: readonly string[], env: Record<string, string> = {}): Proc {
    const p = this.spawnIn(
      this.node,
      [
        process.execPath,
        CLI,
        'run',
        '--node-name',
        'node-a',
        '--state-dir',
        join(this.work, 'state'),
        '--log-format',
        'text',
        '--min-sync-period',
        '0s',
        ...args,
      ],
      { ...process.env, ...env },
    );
    this.agents.push(p);
    return p;
  }

  /** Another ipvs-proxy command (cleanup, status) in the node namespace. */
  command(args: readonly string[]): Proc {
    return this.spawnIn(this.node, [process.execPath, CLI, ...args]);
  }

  /** The last lines of every agent started, for a failure message. */
  agentLogs(lines = 40): string {
    return this.agents.map((a, k) => `--- agent ${k} (${a.running ? 'running' : 'exited'}):\n${a.text.split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  /** Continuous requests from the client namespace, one line per answer. */
  traffic(mode: 'http' | 'udp', host: string, port: number, everyMs: number): Proc {
    return this.spawnIn(this.client, [process.execPath, '-e', CLIENT, mode, host, String(port), String(everyMs)]);
  }

  /** `ipvsadm -Sn` lines. */
  async rules(): Promise<string[]> {
    return (await this.node.run('ipvsadm', ['-Sn'])).split('\n').filter(Boolean);
  }

  /** Real servers of one virtual server as "address:port weight", or undefined if it does not exist. */
  async reals(proto: 'TCP' | 'UDP', vip: string, port: number): Promise<string[] | undefined> {
    const r = await this.node.exec('ipvsadm', ['-Ln', proto === 'TCP' ? '-t' : '-u', `${vip}:${port}`]);
    if (r.code !== 0) return undefined;
    return r.stdout
      .split('\n')
      .filter((l) => /->\s+\d/.test(l))
      .map((l) => {
        const f = l.trim().split(/\s+/);
        return `${f[1]} ${f[3]}`;
      })
      .sort();
  }

  /** A forwarder on the uplink to a server on the root's loopback; returns a kubeconfig path. */
  async kubeconfigFor(loopbackPort: number): Promise<string> {
    const server = createServer((a) => {
      const b = connect({ host: '127.0.0.1', port: loopbackPort });
      a.pipe(b).pipe(a);
      a.on('error', () => b.destroy());
      b.on('error', () => a.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, this.rootAddress, () => resolve()));
    this.forwarders.push(server);
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('forwarder has no port');
    const path = join(this.work, 'kubeconfig.yaml');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: f',
        'clusters:',
        '- name: f',
        '  cluster:',
        `    server: http://${this.rootAddress}:${addr.port}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: u',
        '  user:',
        '    token: t',
        'contexts:',
        '- name: f',
        '  context:',
        '    cluster: f',
        '    user: u',
        '',
      ].join('\n'),
    );
    return path;
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => Promise.race([p.exited, sleep(5000)])));
    await Promise.all(this.forwarders.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const p of this.pods) await p.ns.destroy();
    if (this.client) await this.client.destroy();
    await root('ip', ['link', 'del', this.uplink]).catch(() => undefined);
    await this.node.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }
}

function root(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: ${err.trim()}`))));
  });
}

/** Service and EndpointSlice objects as the API server stores them. */
export function serviceObj(name: string, ip: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP', targetPort = HTTP_PORT): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      clusterIPs: [ip],
      ipFamilies: ['IPv4'],
      selector: { app: name },
      ports: [{ name: 'p', protocol, port, targetPort }],
    },
  };
}

export interface EndpointState {
  pod: Pod | { name: string; address: string };
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function sliceObj(service: string, eps: readonly EndpointState[], protocol: 'TCP' | 'UDP' = 'TCP', port = HTTP_PORT): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-s1`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'p', protocol, port }],
    endpoints: eps.map((e) => ({
      addresses: [e.pod.address],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
      nodeName: 'node-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: e.pod.name },
    })),
  };
}

/** Write a manifest List atomically (the agent never sees half a file). */
export function writeManifests(path: string, items: readonly unknown[]): void {
  const tmp = `${path}.${randomBytes(3).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  renameSync(tmp, path);
}
