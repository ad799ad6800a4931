// kube-proxy's per-Service health check node ports: for a LoadBalancer Service with
// externalTrafficPolicy Local, the cloud load balancer probes spec.healthCheckNodePort on every
// node and only sends traffic to nodes that answer 200, i.e. that have a local ready endpoint.
// Same body and headers as kube-proxy, so load balancers configured for it see no difference.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import ipaddr from 'ipaddr.js';
import type { HealthState } from './health.js';
import { closeServer, formatHostPort, listen, ListenError } from './http.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);
/** Errors that only mean this address family is absent on the host (IPv6 disabled). */
const FAMILY_ABSENT = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/** Bind on every IPv4 and IPv6 address of the node (no --nodeport-addresses given). */
export const ALL_NODE_ADDRESSES: readonly string[] = ['0.0.0.0', '::'];

export interface HealthCheckService {
  namespace: string;
  name: string;
  /** spec.healthCheckNodePort; 0 means none (the Service is ignored). */
  port: number;
  /** Ready endpoints of the Service on this node. */
  localEndpoints: number;
}

/** A listener that could not be opened; the agent logs it and raises an Event on the Service. */
export interface HealthCheckWarning {
  /** "Service namespace/name", as ModelWarning spells objects. */
  object: string;
  namespace: string;
  name: string;
  port: number;
  address: string;
  /** 'EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', ... */
  code: string;
  message: string;
}

export interface HealthCheckNodePortsOptions {
  /**
   * Node addresses to bind (from --nodeport-addresses), or ALL_NODE_ADDRESSES. Never VIPs: the
   * load balancer probes the node, and a VIP bound on kube-ipvs0 would answer for every node.
   */
  addresses: readonly string[];
  /** The agent's health, read at each probe: unhealthy, node not eligible or shutting down -> 503. */
  health: Pick<HealthState, 'snapshot'>;
}

interface Instance {
  namespace: string;
  name: string;
  port: number;
  localEndpoints: number;
  servers: Server[];
}

function nameOf(s: { namespace: string; name: string }): string {
  return `${s.namespace}/${s.name}`;
}

/** kube-proxy's body, byte for byte: tab-indented JSON without a trailing newline. */
export function healthCheckBody(namespace: string, name: string, localEndpoints: number, serviceProxyHealthy: boolean): string {
  return JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy }, null, '\t');
}

export class HealthCheckNodePorts {
  private readonly instances = new Map<string, Instance>();
  private closed = false;
  /** Serialises update() and close(): listeners must not be opened twice for one Service. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HealthCheckNodePortsOptions) {
    if (options.addresses.length === 0) throw new RangeError('HealthCheckNodePorts needs at least one address');
    // Literal addresses only: a host name could resolve to anything, a VIP among them.
    for (const a of options.addresses) if (!ipaddr.isValid(a)) throw new RangeError(`not an IP address: "${a}"`);
  }

  /**
   * Make the listeners match `services`: open new ports, close removed or moved ones, and update
   * endpoint counts in place. A port that cannot be bound is returned as a warning and retried
   * on the next update, as kube-proxy does; it never throws for one Service.
   */
  update(services: readonly HealthCheckService[]): Promise<HealthCheckWarning[]> {
    const run = this.chain.then(() => this.apply(services));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Ports currently listening, by "namespace/name" (for status and tests). */
  listening(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, inst] of this.instances) out.set(key, inst.port);
    return out;
  }

  close(): Promise<void> {
    this.closed = true;
    const run = this.chain.then(async () => {
      const all = [...this.instances.values()];
      this.instances.clear();
      await Promise.all(all.flatMap((i) => i.servers.map(closeServer)));
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async apply(services: readonly HealthCheckService[]): Promise<HealthCheckWarning[]> {
    if (this.closed) return [];
    const wanted = new Map<string, HealthCheckService>();
    for (const s of services) if (s.port > 0) wanted.set(nameOf(s), s);

    const closing: Server[] = [];
    for (const [key, inst] of this.instances) {
      const want = wanted.get(key);
      if (!want || want.port !== inst.port) {
        closing.push(...inst.servers);
        this.instances.delete(key);
      } else {
        inst.localEndpoints = want.localEndpoints;
      }
    }
    // Close first: a Service moving to a port another one just released must find it free.
    await Promise.all(closing.map(closeServer));

    const warnings: HealthCheckWarning[] = [];
    const opening: Array<Promise<void>> = [];
    for (const [key, want] of wanted) {
      if (this.instances.has(key)) continue;
      opening.push(
        this.open(want).then((result) => {
          if ('warning' in result) warnings.push(result.warning);
          else this.instances.set(key, result.instance);
        }),
      );
    }
    await Promise.all(opening);
    warnings.sort((a, b) => a.object.localeCompare(b.object) || a.address.localeCompare(b.address));
    return warnings;
  }

  private async open(svc: HealthCheckService): Promise<{ instance: Instance } | { warning: HealthCheckWarning }> {
    const instance: Instance = { namespace: svc.namespace, name: svc.name, port: svc.port, localEndpoints: svc.localEndpoints, servers: [] };
    const bindBoth = this.options.addresses.includes('::') && this.options.addresses.includes('0.0.0.0');
    for (const address of this.options.addresses) {
      const server = createServer((req, res) => this.answer(instance, req, res));
      server.keepAliveTimeout = 5_000;
      try {
        // '::' next to '0.0.0.0' must be IPv6-only, or it would collide with the IPv4 listener.
        await listen(server, address, svc.port, bindBoth && address === '::');
        instance.servers.push(server);
      } catch (err) {
        const absent = err instanceof ListenError && WILDCARDS.has(address) && FAMILY_ABSENT.has(err.code);
        if (absent && (instance.servers.length > 0 || address !== this.options.addresses.at(-1))) continue;
        await Promise.all(instance.servers.map(closeServer));
        const e = err instanceof ListenError ? err : undefined;
        const code = e?.code ?? 'UNKNOWN';
        const reason = code === 'EADDRINUSE' ? 'port already in use' : (e?.message ?? String(err));
        return {
          warning: {
            object: `Service ${nameOf(svc)}`,
            namespace: svc.namespace,
            name: svc.name,
            port: svc.port,
            address,
            code,
            message: `failed to start health check on ${formatHostPort(address, svc.port)} for service ${nameOf(svc)}: ${reason}`,
          },
        };
      }
    }
    return { instance };
  }

  // Any method and path, as kube-proxy: some load balancers probe "/", others "/healthz".
  private answer(inst: Instance, req: IncomingMessage, res: ServerResponse): void {
    const healthy = !this.closed && this.options.health.snapshot().healthy;
    const count = inst.localEndpoints;
    res.writeHead(count > 0 && healthy ? 200 : 503, {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(count),
    });
    res.end(req.method === 'HEAD' ? undefined : healthCheckBody(inst.namespace, inst.name, count, healthy));
  }
}
