// The fleet end-to-end test's harness: a real redis-server (and a listener that never answers in
// its place), agents in their own network namespaces joined to the root one by veth pairs, the
// status CLI, and the fleet table's cells. Used by test/kernel/fleet-e2e.test.ts.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, type Netns } from './netns.js';

export const repo = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(repo, 'bin/ipvs-proxy.js');
export const REDIS_SERVER = '/usr/bin/redis-server';
export const SYNC_PERIOD_MS = 2_000;
/** What run-command gives the publisher: 3 x the sync period. */
export const TTL_MS = 3 * SYNC_PERIOD_MS;
export const VIP = '10.96.50.10';
export const BASE = ['10.244.1.1', '10.244.1.2'];
/** The agent's Redis command timeout: a sync that waited on one command would take this long more. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** Ages in the table are at most this old for a live agent (generous: the VM is slow and shared). */
export const FRESH_MS = 30_000;
export const started = Date.now();

/** Progress on stderr, with the time since the start: the VM is slow, this shows where time goes. */
export function note(message: string): void {
  process.stderr.write(`# fleet-e2e +${((Date.now() - started) / 1000).toFixed(1)}s ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until check returns a value; fail with the last observation after the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, deadlineMs: number, everyMs = 200): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(everyMs);
  }
}

// ---- manifests -------------------------------------------------------------------------------

export const SERVICE_YAML = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: fleet, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  type: ClusterIP
  selector: {app: web}
  clusterIP: ${VIP}
  clusterIPs: [${VIP}]
  ipFamilies: [IPv4]
  ports:
    - {name: http, protocol: TCP, port: 80, targetPort: 8080}
`;

export function sliceYaml(endpoints: readonly string[], triggerTime: string | undefined): string {
  const annotations = triggerTime ? `  annotations: {endpoints.kubernetes.io/last-change-trigger-time: "${triggerTime}"}\n` : '';
  // On a node outside the three: no agent's hairpin set changes, so an endpoint change is one
  // IPVS write on every node, and the latency each agent reports ends at that write.
  const eps = endpoints.map((a) => `  - addresses: [${a}]\n    conditions: {ready: true, serving: true, terminating: false}\n    nodeName: node-9\n`).join('');
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x7k2p
  namespace: fleet
  labels: {kubernetes.io/service-name: web}
${annotations}addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
${eps}`;
}

/** Replace a file by rename (the dotfile is skipped by the manifest source), as kubectl-style tools do. */
export function writeAtomic(path: string, text: string): void {
  const tmp = join(path, '..', `.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---- redis-server and the listener that never answers ----------------------------------------

export interface RedisServer {
  child: ChildProcess;
  exited: Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function startRedis(port: number, bind: readonly string[]): Promise<RedisServer> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', ...bind, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited early:\n${output}`));
    });
  }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { child, exited };
}

export async function killRedis(r: RedisServer, signal: NodeJS.Signals): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  // A frozen server must not get a moment to answer before SIGKILL (which needs no SIGCONT).
  if (signal !== 'SIGKILL') r.child.kill('SIGCONT');
  r.child.kill(signal);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await r.exited;
  clearTimeout(timer);
}

export interface BlackHole {
  /** Connections accepted, by the peer's address. */
  acceptedFrom: Map<string, number>;
  stop(): Promise<void>;
}

/** Accepts TCP connections on the port at each address and never sends a byte. */
export async function startBlackHole(port: number, addresses: readonly string[]): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const acceptedFrom = new Map<string, number>();
  const servers: Server[] = [];
  for (const address of addresses) {
    const server = createServer((socket) => {
      const peer = socket.remoteAddress ?? '?';
      acceptedFrom.set(peer, (acceptedFrom.get(peer) ?? 0) + 1);
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    servers.push(server);
  }
  return {
    acceptedFrom,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

// ---- the agents ------------------------------------------------------------------------------

export interface AgentNode {
  name: string;
  ns: Netns;
  /** Root-side address of its veth: where Redis listens for it. */
  hostAddress: string;
  /** Agent-side address: its /healthz listens here. */
  agentAddress: string;
  dir: string;
  child?: ChildProcess;
  exited?: Promise<number | null>;
  log: string;
}

export async function agentNamespace(i: number, work: string): Promise<AgentNode> {
  const ns = await createNetns('fleet');
  const hostAddress = `10.99.${i}.0`;
  const agentAddress = `10.99.${i}.1`;
  const hostLink = `fl${i}${randomBytes(3).toString('hex')}`;
  const ip = (args: string[]): Promise<unknown> =>
    new Promise((resolve, reject) =>
      execFile('ip', args, (err, _o, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr}`)) : resolve(undefined))),
    );
  await ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  await ip(['addr', 'add', `${hostAddress}/31`, 'dev', hostLink]);
  await ip(['link', 'set', hostLink, 'up']);
  await ns.run('ip', ['addr', 'add', `${agentAddress}/31`, 'dev', 'eth0']);
  await ns.run('ip', ['link', 'set', 'eth0', 'up']);
  await ns.run('ip', ['route', 'add', 'default', 'via', hostAddress]);
  const dir = join(work, `node-${i}`, 'manifests');
  mkdirSync(dir, { recursive: true });
  return { name: `node-${i}`, ns, hostAddress, agentAddress, dir, log: '' };
}

export function startAgent(a: AgentNode, redisPort: number, stateDir: string): void {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      a.ns.name,
      process.execPath,
      CLI,
      'run',
      '--manifests',
      a.dir,
      '--node-name',
      a.name,
      '--state-dir',
      stateDir,
      '--sync-period',
      `${SYNC_PERIOD_MS / 1000}s`,
      '--min-sync-period',
      '0s',
      '--healthz-bind-address',
      `${a.agentAddress}:10256`,
      '--status-redis',
      `redis://${a.hostAddress}:${redisPort}`,
      '--log-format',
      'text',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (a.log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (a.log += d.toString()));
  a.child = child;
  a.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM and wait (60 s at most) for the exit status. */
export async function stopAgent(a: AgentNode): Promise<number | null> {
  if (!a.child || a.child.exitCode !== null || a.child.signalCode !== null) return a.child?.exitCode ?? null;
  a.child.kill('SIGTERM');
  const timer = setTimeout(() => a.child?.kill('SIGKILL'), 60_000);
  const code = await a.exited!;
  clearTimeout(timer);
  return code;
}

/** The real servers of the VIP in the agent's own IPVS table. */
export async function kernelReals(a: AgentNode): Promise<string[]> {
  const out = await a.ns.run('ipvsadm', ['-Sn']);
  return [...out.matchAll(new RegExp(`^-a -t ${VIP.replace(/\./g, '\\.')}:80 -r (\\S+):8080`, 'gm'))].map((m) => m[1]).sort();
}

/** Wait until the kernel holds exactly these real servers; the time it took from `since`. */
export async function kernelHas(a: AgentNode, endpoints: readonly string[], since: number, deadlineMs = 60_000): Promise<number> {
  const want = [...endpoints].sort().join(',');
  await waitFor(`${a.name}'s kernel to hold ${want}`, async () => ((await kernelReals(a)).join(',') === want ? true : undefined), deadlineMs, 250);
  return Date.now() - since;
}

/**
 * The duration of the first pass logged after `offset` that wrote the kernel with at least this
 * many real servers (a removed one drains at weight 0 and is counted until the drain pass
 * deletes it).
 */
export function loggedSyncMs(a: AgentNode, offset: number, realServers: number): number | undefined {
  // A verify pass that takes the change first logs it as "verify:".
  const re = /\b(?:sync|verify): \d+ virtual servers, (\d+) real servers, \d+ addresses, [1-9]\d* kernel writes, ([\d.]+) ms/g;
  for (const m of a.log.slice(offset).matchAll(re)) if (Number(m[1]) >= realServers) return Number(m[2]);
  return undefined;
}

export const countMatches = (text: string, re: RegExp): number => [...text.matchAll(new RegExp(re.source, 'g'))].length;

// ---- the fleet view, in process and through the CLI --------------------------------------------

export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 180_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The table's rows by node name; columns are separated by two spaces or more. */
export function tableRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(node-\d)\s/.exec(line);
    if (m) rows.set(m[1], line.trim().split(/\s{2,}/));
  }
  return rows;
}

export const COL = { state: 1, lastSync: 2, heartbeat: 3, digest: 5, agreement: 6, p50: 11, p99: 12, samples: 13 } as const;

/** "850ms", "4.2s", "3m05s" as printed by formatAge, back to milliseconds. */
export function ageMs(cell: string): number {
  const m = /^(?:(\d+)m(\d{2})s|([\d.]+)s|(\d+)ms) ago$/.exec(cell);
  assert.ok(m, `not an age: "${cell}"`);
  if (m[1] !== undefined) return (Number(m[1]) * 60 + Number(m[2])) * 1_000;
  if (m[3] !== undefined) return Number(m[3]) * 1_000;
  return Number(m[4]);
}
