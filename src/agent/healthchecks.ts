// Which health check node ports this node serves: LoadBalancer services with
// externalTrafficPolicy Local and a healthCheckNodePort, each with its local ready endpoints.
import type { HealthCheckService } from '../ops/healthcheck-nodeports.js';
import type { ServiceModel } from '../model/service-model.js';

export function healthCheckServices(model: Pick<ServiceModel, 'healthCheckTargets'>): HealthCheckService[] {
  return model.healthCheckTargets().map((t) => ({
    namespace: t.namespace,
    name: t.name,
    port: t.healthCheckNodePort,
    localEndpoints: t.localReadyEndpoints,
  }));
}
