// Shared helpers of the source tests: a recording SourceHandlers, deadline-bound waits, and
// object builders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceEvent, SourceHandlers } from '../../../src/vocabulary/source.js';
import { FixtureApiServer, type KubeObject } from '../../fixtures/apiserver/server.js';
import { KubeSource, type KubeSourceOptions } from '../../../src/k8s/kube-source.js';

export class Recorder implements SourceHandlers {
  readonly batches: SourceEvent[][] = [];
  readonly warnings: Array<{ message: string; detail?: Record<string, unknown> }> = [];
  onEvents(events: SourceEvent[]): void {
    this.batches.push(events);
  }
  onWarning(message: string, detail?: Record<string, unknown>): void {
    this.warnings.push({ message, detail });
  }
  events(): SourceEvent[] {
    return this.batches.flat();
  }
  clear(): void {
    this.batches.length = 0;
    this.warnings.length = 0;
  }
  /** Current view built from the events: kind/ns/name -> resourceVersion. */
  state(): Map<string, string> {
    const m = new Map<string, string>();
    for (const e of this.events()) {
      if (e.type === 'upsert') m.set(`${e.kind}/${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name}`, e.object.metadata?.resourceVersion ?? '');
      else if (e.kind === 'Node') m.delete(`Node//${e.name}`);
      else m.delete(`${e.kind}/${e.namespace}/${e.name}`);
    }
    return m;
  }
  names(kind: SourceEvent['kind']): string[] {
    return [...this.state().keys()]
      .filter((k) => k.startsWith(kind + '/'))
      .map((k) => k.slice(kind.length + 1))
      .sort();
  }
}

/** Polls until check() is true; fails with what after timeoutMs. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function service(name: string, opts: { namespace?: string; labels?: Record<string, string>; clusterIP?: string; port?: number } = {}): KubeObject {
  return {
    metadata: { name, namespace: opts.namespace ?? 'default', labels: opts.labels },
    spec: { clusterIP: opts.clusterIP ?? '10.0.0.10', ports: [{ name: 'http', port: opts.port ?? 80, protocol: 'TCP', targetPort: 8080 }] },
  };
}

export function slice(name: string, svc: string, ips: string[], labels: Record<string, string> = {}): KubeObject {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, ...labels } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export function node(name: string, labels: Record<string, string> = {}): KubeObject {
  return { metadata: { name, labels }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } };
}

export interface Harness {
  server: FixtureApiServer;
  source: KubeSource;
  rec: Recorder;
  dir: string;
  close(): Promise<void>;
}

/** A fixture server and a KubeSource with small timeouts, not yet started. */
export async function harness(opts: Partial<KubeSourceOptions> = {}, serverOpts: ConstructorParameters<typeof Object>[0] = {}): Promise<Harness> {
  const server = await FixtureApiServer.start(serverOpts as Parameters<typeof FixtureApiServer.start>[0]);
  const dir = mkdtempSync(join(tmpdir(), 'kube-source-'));
  const source = new KubeSource({
    kubeconfig: server.writeKubeconfig(dir),
    nodeName: 'node-a',
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    listTimeoutMs: 5000,
    inactivityTimeoutMs: 5000,
    emptyListConfirmMs: 200,
    watchTimeoutSeconds: { min: 60, max: 60 },
    ...opts,
  });
  const rec = new Recorder();
  return {
    server,
    source,
    rec,
    dir,
    async close() {
      await source.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
