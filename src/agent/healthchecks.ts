// Which health check node ports this node serves: LoadBalancer services with
// externalTrafficPolicy Local and a healthCheckNodePort, each with its ready endpoints on this
// node (counted from the desired state, so it agrees with what IPVS serves).
import type { SourceEvent } from '../vocabulary/source.js';
import type { DesiredState } from '../model/types.js';
import type { HealthCheckService } from '../ops/healthcheck-nodeports.js';

export class HealthCheckIndex {
  /** healthCheckNodePort by "namespace/name". */
  private readonly ports = new Map<string, number>();

  constructor(private readonly nodeName: string) {}

  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'Service') continue;
      const id = e.type === 'delete' ? `${e.namespace}/${e.name}` : `${e.object.metadata?.namespace ?? 'default'}/${e.object.metadata?.name ?? ''}`;
      const spec = e.type === 'upsert' ? e.object.spec : undefined;
      const port = spec?.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort : undefined;
      if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) this.ports.set(id, port);
      else this.ports.delete(id);
    }
  }

  /** One entry per service with a health check node port; local endpoints are this node's ready ones. */
  targets(state: DesiredState): HealthCheckService[] {
    if (this.ports.size === 0) return [];
    const local = new Map<string, Set<string>>();
    for (const vs of state.virtualServers.values()) {
      const id = `${vs.owner.namespace}/${vs.owner.name}`;
      if (!this.ports.has(id)) continue;
      const set = local.get(id) ?? new Set<string>();
      for (const r of vs.reals) if (r.nodeName === this.nodeName && !r.terminating) set.add(r.address);
      local.set(id, set);
    }
    return [...this.ports].map(([id, port]) => {
      const [namespace, name] = id.split('/');
      return { namespace, name, port, localEndpoints: local.get(id)?.size ?? 0 };
    });
  }
}
