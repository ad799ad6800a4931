// A small cluster node made of network namespaces, for end-to-end tests of `ipvs-proxy run`:
//
//   test process (root namespace) --uplink veth-- node namespace --veth-- pod namespaces
//                                                               \--veth-- client pod namespace
//
// Every pod runs an HTTP server answering "<pod name> (saw <source address>)". The node routes
// each pod's /32 over its veth (no bridge, like Calico); pods reach everything through
// 169.254.1.1. The root namespace routes this topology's service range (serviceIp(n)) to the node,
// so the test process itself can be a client, and reaches the node's health, metrics and node
// ports on nodeAddress. Each topology draws its own uplink and service subnets, so two test files
// running at once in one VM do not collide. Agents run as real `ipvs-proxy run` processes inside
// the node namespace with their own state directory and captured logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, type ExecResult, type Netns } from './netns.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(repo, 'bin/ipvs-proxy.js');

/** The pods' HTTP server; long keep-alive so a test can hold one connection open through a drain. */
const POD_SERVER = `
const http = require('node:http');
const [name, port] = process.argv.slice(1);
const server = http.createServer((req, res) => res.end(name + ' (saw ' + req.socket.remoteAddress + ')\\n'));
server.keepAliveTimeout = 600000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen(Number(port), '0.0.0.0', () => console.log('listening'));
`;

export const POD_PORT = 9376;

export interface PodSpec {
  name: string;
}

export interface Pod {
  name: string;
  address: string;
  ns: Netns;
}

// ---------------------------------------------------------------------------------------------
// waiting

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${typeof last === 'string' ? last : JSON.stringify(last)}`);
    this.name = 'WaitTimeoutError';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll probe until check accepts its value; returns that value. Throws WaitTimeoutError with the
 * last value seen when the deadline passes.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  check: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (check(last)) return last;
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, timeoutMs, last);
    await sleep(opts.intervalMs ?? 250);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP from the test process

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET over a fresh connection (no keep-alive), with a deadline. Rejects on network errors. */
export function httpGet(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET that reports a network error as status 0 with the error's code in body (for polling). */
export async function httpProbe(url: string, timeoutMs = 3000): Promise<HttpAnswer> {
  try {
    return await httpGet(url, timeoutMs);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { status: 0, headers: {}, body: e.code ?? e.message };
  }
}

/**
 * One TCP connection held open by the test, speaking HTTP/1.1 keep-alive by hand, so the test
 * decides when (and how: FIN or RST) it closes.
 */
export class HeldConnection {
  private buffer = '';
  private waiting: ((answer: string) => void) | undefined;
  private failed: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
    socket.on('error', (err) => (this.failed = err));
  }

  static open(host: string, port: number, timeoutMs = 5000): Promise<HeldConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect ${host}:${port}: timed out`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new HeldConnection(socket, host));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Send one GET on this connection and return the body. */
  get(timeoutMs = 5000): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`held connection: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      this.socket.write(`GET / HTTP/1.1\r\nHost: ${this.host}\r\nConnection: keep-alive\r\n\r\n`);
    });
  }

  /** Close with a RST, so IPVS moves the connection to CLOSE (10 s) rather than TIME_WAIT (2 min). */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  private deliver(): void {
    const head = this.buffer.indexOf('\r\n\r\n');
    if (head < 0 || !this.waiting) return;
    const m = /content-length:\s*(\d+)/i.exec(this.buffer.slice(0, head));
    const length = m ? Number(m[1]) : 0;
    if (this.buffer.length < head + 4 + length) return;
    const body = this.buffer.slice(head + 4, head + 4 + length);
    this.buffer = this.buffer.slice(head + 4 + length);
    const w = this.waiting;
    this.waiting = undefined;
    w(body);
  }
}

// ---------------------------------------------------------------------------------------------
// kernel views

/** `ipvsadm -Sn` as sorted lines. */
export async function ipvsRules(ns: Netns): Promise<string[]> {
  const out = await ns.run('ipvsadm', ['-Sn']);
  return out.split('\n').filter(Boolean).sort();
}

/**
 * The VIPs local on kube-ipvs0 (CIDR form, sorted), whether bound as addresses or made local by
 * the agent's local routes (--vip-mode); [] when the link does not exist.
 */
export async function vipAddresses(ns: Netns): Promise<string[]> {
  const r = await ns.exec('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
  if (r.code !== 0) return [];
  // Link-local IPv6 addresses come with the link, not from the agent.
  const vips = new Set([...r.stdout.matchAll(/inet6? (\S+)/g)].map((m) => m[1]).filter((a) => !a.startsWith('fe80:')));
  for (const family of ['-4', '-6']) {
    const routes = await ns.exec('ip', [family, 'route', 'show', 'table', 'local', 'proto', '201', 'dev', 'kube-ipvs0']);
    for (const m of routes.stdout.matchAll(/^local (\S+)/gm)) vips.add(m[1].includes('/') ? m[1] : `${m[1]}/${family === '-4' ? 32 : 128}`);
  }
  return [...vips].sort();
}

export async function linkExists(ns: Netns, name: string): Promise<boolean> {
  return (await ns.exec('ip', ['link', 'show', 'dev', name])).code === 0;
}

/** Names of our iptables chains (both tables) and ipsets in the namespace. */
export async function ownedNetfilter(ns: Netns): Promise<{ chains: string[]; sets: string[] }> {
  const chains: string[] = [];
  for (const table of ['nat', 'filter']) {
    const out = await ns.run('iptables-save', ['-t', table]);
    for (const m of out.matchAll(/^:(IPVS-PROXY\S*)/gm)) chains.push(`${table}/${m[1]}`);
  }
  const sets = (await ns.run('ipset', ['list', '-n'])).split('\n').filter((s) => s.startsWith('IPVS-PROXY'));
  return { chains: chains.sort(), sets: sets.sort() };
}

/** Sum of a metric's samples (every label set) in a Prometheus text exposition; 0 when absent. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

// ---------------------------------------------------------------------------------------------
// the agent process

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `ipvs-proxy run` (or any ipvs-proxy command) in the node namespace, its output kept. */
export class AgentProcess {
  private output = '';
  readonly exited: Promise<AgentExit>;
  private exitInfo: AgentExit | undefined;
  private readonly log: WriteStream;

  constructor(
    private readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
    const take = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output += text;
      this.log.write(text);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** stdout and stderr so far, interleaved as they arrived. */
  get logs(): string {
    return this.output;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Wait until the output matches re (from offset `from` on); returns the match. */
  async waitForLog(re: RegExp, timeoutMs = 60_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (!this.running) throw new Error(`agent exited (${JSON.stringify(this.exitInfo)}) before logging ${re}; output:\n${this.tail()}`);
      if (Date.now() >= deadline) throw new WaitTimeoutError(`agent log ${re}`, timeoutMs, this.tail());
      await sleep(100);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGTERM, then the exit; SIGKILL after timeoutMs (and the test sees a signal, not a code). */
  async stop(timeoutMs = 30_000): Promise<AgentExit> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    await new Promise<void>((r) => this.log.end(() => r()));
    return exit;
  }

  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// the topology

export interface TopologyOptions {
  pods: readonly PodSpec[];
  /** Name the node's agent is started with (--node-name). */
  nodeName?: string;
}

let topologyCount = 0;

export class Topology {
  readonly pods: Pod[] = [];
  /** Pod-like client namespace, routed through the node like the pods. */
  client!: Netns;
  readonly clientAddress = '10.244.9.10';
  readonly nodeName: string;
  /** Uplink addresses: the node's (node ports, health, metrics) and the root namespace's. */
  readonly nodeAddress: string;
  readonly outsideAddress: string;
  readonly work: string;
  private readonly servicePrefix: string;
  /** The root namespace's end of the uplink veth (a neighbour of the node's eth0). */
  readonly uplink: string;
  private readonly children: ChildProcess[] = [];
  private readonly agents: AgentProcess[] = [];
  private readonly forwarders: Server[] = [];

  private constructor(
    readonly node: Netns,
    index: number,
    nodeName: string,
  ) {
    this.nodeName = nodeName;
    this.nodeAddress = `172.31.${index}.2`;
    this.outsideAddress = `172.31.${index}.1`;
    this.servicePrefix = `10.96.${index}.`;
    this.uplink = `up${randomBytes(4).toString('hex')}`;
    this.work = mkdtempSync(join(tmpdir(), `topo-${node.name}-`));
  }

  /** The n-th address of this topology's service range (10.96.<index>.0/24, routed to the node). */
  serviceIp(n: number): string {
    return `${this.servicePrefix}${n}`;
  }

  get serviceCidr(): string {
    return `${this.servicePrefix}0/24`;
  }

  static async create(opts: TopologyOptions): Promise<Topology> {
    const index = 1 + ((process.pid * 13 + topologyCount++ * 37) % 250);
    const node = await createNetns('node');
    const topo = new Topology(node, index, opts.nodeName ?? 'node-a');
    try {
      await topo.build(opts.pods);
    } catch (err) {
      await topo.destroy();
      throw err;
    }
    return topo;
  }

  private async build(pods: readonly PodSpec[]): Promise<void> {
    const { node } = this;
    await node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    // Uplink: root namespace <-> node namespace.
    await runRoot('ip', ['link', 'add', this.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.name]);
    await runRoot('ip', ['addr', 'add', `${this.outsideAddress}/24`, 'dev', this.uplink]);
    await runRoot('ip', ['link', 'set', this.uplink, 'up']);
    await runRoot('ip', ['route', 'add', this.serviceCidr, 'via', this.nodeAddress, 'dev', this.uplink]);
    await node.run('ip', ['addr', 'add', `${this.nodeAddress}/24`, 'dev', 'eth0']);
    await node.run('ip', ['link', 'set', 'eth0', 'up']);
    await node.run('ip', ['route', 'add', 'default', 'via', this.outsideAddress, 'dev', 'eth0']);

    for (const [i, spec] of pods.entries()) {
      const address = `10.244.1.${11 + i}`;
      const ns = await this.attach(`vp${i}`, address);
      this.pods.push({ name: spec.name, address, ns });
    }
    this.client = await this.attach('vc0', this.clientAddress);
    await Promise.all(this.pods.map((p) => this.startPodServer(p)));
  }

  /** A pod-like namespace joined to the node by a veth, its /32 routed on the node side. */
  private async attach(nodeSide: string, address: string): Promise<Netns> {
    const ns = await createNetns('pod');
    await runRoot('ip', ['link', 'add', nodeSide, 'netns', this.node.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await ns.run('ip', ['addr', 'add', `${address}/32`, 'dev', 'eth0']);
    await ns.run('ip', ['link', 'set', 'eth0', 'up']);
    await ns.run('ip', ['route', 'add', '169.254.1.1', 'dev', 'eth0']);
    await ns.run('ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await this.node.run('ip', ['addr', 'add', '169.254.1.1/32', 'dev', nodeSide]);
    await this.node.run('ip', ['link', 'set', nodeSide, 'up']);
    await this.node.run('ip', ['route', 'add', `${address}/32`, 'dev', nodeSide]);
    return ns;
  }

  private async startPodServer(pod: Pod): Promise<void> {
    await this.startProcess(pod.ns, ['-e', POD_SERVER, pod.name, String(POD_PORT)], `pod ${pod.name}`);
  }

  /**
   * Start `node <args>` inside ns, killed with the topology; resolves once it printed "listening"
   * (within 60 s).
   */
  async startProcess(ns: Netns, args: readonly string[], label: string): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${label} did not start listening in 60 s: ${out}`)), 60_000);
      const take = (c: Buffer): void => {
        out += c.toString();
        if (out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited ${code}: ${out}`));
      });
    });
    return child;
  }

  podNamed(name: string): Pod {
    const pod = this.pods.find((p) => p.name === name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  /** GET from the client pod with curl; status 0 when curl failed (body has its message). */
  async curlFrom(ns: Netns, url: string, timeoutS = 5): Promise<HttpAnswer> {
    const r: ExecResult = await ns.exec('curl', ['-sS', '--max-time', String(timeoutS), '-w', '\n%{http_code}', url], {
      timeoutMs: (timeoutS + 10) * 1000,
    });
    if (r.code !== 0) return { status: 0, headers: {}, body: r.stderr.trim() };
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), headers: {}, body: r.stdout.slice(0, cut) };
  }

  /** The pod name in an answer "<name> (saw <address>)". */
  static answerer(body: string): { pod: string; saw: string } {
    const m = /^(\S+) \(saw ([^)]+)\)/.exec(body.trim());
    if (!m) throw new Error(`not a pod answer: ${JSON.stringify(body)}`);
    return { pod: m[1], saw: m[2].replace(/^::ffff:/, '') };
  }

  /**
   * Make a fixture API server listening on the root namespace's loopback reachable from the node
   * (a TCP forwarder on the uplink) and write a kubeconfig for the agent; returns its path.
   */
  async kubeconfigFor(loopbackPort: number): Promise<string> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: loopbackPort });
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.outsideAddress, () => resolve());
    });
    this.forwarders.push(server);
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('forwarder has no port');
    const path = join(this.work, `kubeconfig-${addr.port}.yaml`);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: fixture',
        'clusters:',
        '- name: fixture',
        '  cluster:',
        `    server: http://${this.outsideAddress}:${addr.port}`,
        // @kubernetes/client-node refuses plain HTTP unless TLS verification is explicitly skipped.
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: tester',
        '  user:',
        '    token: fixture-token',
        'contexts:',
        '- name: fixture',
        '  context:',
        '    cluster: fixture',
        '    user: tester',
        '',
      ].join('\n'),
    );
    return path;
  }

  stateDir(name: string): string {
    return join(this.work, `state-${name}`);
  }

  /** Start `ipvs-proxy <args>` in the node namespace; output goes to the returned process' log. */
  startAgent(args: readonly string[], label = 'agent'): AgentProcess {
    const child = spawn('ip', ['netns', 'exec', this.node.name, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const agent = new AgentProcess(child, join(this.work, `${label}-${this.agents.length}.log`));
    this.agents.push(agent);
    return agent;
  }

  /** Run an ipvs-proxy command to completion in the node namespace. */
  cli(args: readonly string[], timeoutMs = 180_000): Promise<ExecResult> {
    return this.node.exec(process.execPath, [CLI, ...args], { timeoutMs });
  }

  /** Remove everything any agent programmed in the node (between tests sharing a topology). */
  async resetNode(): Promise<void> {
    await this.node.exec('ipvsadm', ['-C']);
    await this.node.exec('ip', ['link', 'del', 'kube-ipvs0']);
    for (const table of ['nat', 'filter']) {
      await this.node.exec('iptables', ['-t', table, '-F']);
      await this.node.exec('iptables', ['-t', table, '-X']);
    }
    await this.node.exec('ipset', ['destroy']);
  }

  async destroy(): Promise<void> {
    for (const a of this.agents) if (a.running) await a.stop(10_000);
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(this.forwarders.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const p of this.pods) await p.ns.destroy();
    if (this.client) await this.client.destroy();
    await runRoot('ip', ['link', 'del', this.uplink]).catch(() => undefined);
    await this.node.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }
}

function runRoot(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err.trim()}`))));
    child.on('error', reject);
  });
}
