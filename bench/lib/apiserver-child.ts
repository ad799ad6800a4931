// The fixture API server in its own process for the churn benchmark, so that serving lists and
// watches does not share the agent's event loop. It loads SERVICES x ENDPOINTS, then on request
// changes EndpointSlices at a fixed rate from its own timer, stamping each with the
// endpoints.kubernetes.io/last-change-trigger-time annotation (the agent measures from it).
//
//   fork('bench/lib/apiserver-child.ts', [SERVICES, ENDPOINTS, DIR], { execArgv: ['--import', 'tsx'] })
// Messages in: { op: 'run', rate, seconds }, { op: 'stop' }. Out: { op: 'ready', kubeconfig },
// { op: 'done', issued, lateMs }. Started without an IPC channel it prints `kubeconfig PATH` and
// serves the objects until SIGTERM (run.sh's start and memory steps on the API-server source).
import { FixtureApiServer, type KubeObject } from '../../test/fixtures/apiserver/server.js';
import { serviceObjects } from '../fixtures.js';

const TRIGGER = 'endpoints.kubernetes.io/last-change-trigger-time';

interface RunMessage {
  op: 'run';
  rate: number;
  seconds: number;
}
type Message = RunMessage | { op: 'stop' };

const [servicesArg, endpointsArg, dir] = process.argv.slice(2);
const services = Number(servicesArg);
const endpoints = Number(endpointsArg);
const extra = new Array<number>(services).fill(0);
let next = 0;

async function main(): Promise<void> {
  const server = await FixtureApiServer.start();
  server.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bench-node' } } as KubeObject);
  for (let i = 0; i < services; i++) {
    const [service, slice] = serviceObjects(i, endpoints);
    server.create('services', service as KubeObject);
    server.create('endpointslices', slice as KubeObject);
  }

  /** One endpoint added to the next service (a stride, so that changes in flight hit distinct services). */
  function change(): void {
    const i = next;
    next = (next + 7919) % services;
    extra[i] = (extra[i] + 1) % 60;
    const [, slice] = serviceObjects(i, endpoints, extra[i], { [TRIGGER]: new Date().toISOString() });
    server.update('endpointslices', slice as KubeObject);
  }

  function run(m: RunMessage): void {
    const total = Math.round(m.rate * m.seconds);
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    let issued = 0;
    let lateMs = 0;
    // Each tick issues every change whose due time has passed, so the rate holds even when a
    // timer fires late; lateMs reports how far behind the generator itself fell.
    const timer = setInterval(
      () => {
        const now = Date.now();
        const due = Math.min(total, Math.floor(((now - t0) / 1000) * m.rate) + 1);
        if (due > issued + 1) lateMs = Math.max(lateMs, now - (t0 + (issued * 1000) / m.rate));
        while (issued < due) {
          change();
          issued++;
        }
        if (issued >= total) {
          clearInterval(timer);
          const cpu = process.cpuUsage(cpu0);
          process.send?.({ op: 'done', issued, lateMs, cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
        }
      },
      Math.max(1, Math.floor(1000 / m.rate / 2)),
    );
  }

  process.on('message', (m: Message) => {
    if (m.op === 'run') run(m);
    else if (m.op === 'stop') void server.close().then(() => process.exit(0));
  });
  const kubeconfig = server.writeKubeconfig(dir);
  if (process.send) {
    process.send({ op: 'ready', kubeconfig });
  } else {
    // Started on its own (a cold start or memory step of run.sh): say where it is, serve until told to stop.
    process.stdout.write(`kubeconfig ${kubeconfig}\n`);
    process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  }
}

await main();
