// Legacy v1 Endpoints -> discovery.k8s.io/v1 EndpointSlices, the way the EndpointSlice
// mirroring controller does it: one slice per subset and address family, ready from
// `addresses`, not ready from `notReadyAddresses`, ports copied, the Endpoints' labels copied
// plus kubernetes.io/service-name and the mirroring controller's managed-by label. The
// controller's random name suffix is replaced by a stable hash so reloads do not churn names.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { V1Endpoint, V1EndpointAddress, V1EndpointSlice, V1Endpoints } from '@kubernetes/client-node';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
/** The controller's default --mirroring-max-endpoints-per-subset. */
export const MAX_ENDPOINTS_PER_SUBSET = 1000;

const DROPPED_ANNOTATIONS = new Set(['endpoints.kubernetes.io/last-change-trigger-time', 'kubectl.kubernetes.io/last-applied-configuration']);

export interface MirrorResult {
  slices: V1EndpointSlice[];
  /** Addresses left out, with why: not an IP, or over the per-subset limit. */
  problems: string[];
}

function sliceName(endpointsName: string, subset: number, family: 'IPv4' | 'IPv6'): string {
  const hash = createHash('sha256').update(`${endpointsName}/${subset}/${family}`).digest('hex').slice(0, 5);
  return `${endpointsName.slice(0, 63 - 6)}-${hash}`;
}

function toEndpoint(a: V1EndpointAddress, ready: boolean): V1Endpoint {
  const e: V1Endpoint = { addresses: [a.ip], conditions: { ready } };
  if (a.hostname) e.hostname = a.hostname;
  if (a.nodeName) e.nodeName = a.nodeName;
  if (a.targetRef) e.targetRef = a.targetRef;
  return e;
}

export function mirrorEndpoints(ep: V1Endpoints): MirrorResult {
  const name = ep.metadata?.name ?? '';
  const namespace = ep.metadata?.namespace ?? 'default';
  const problems: string[] = [];
  if (ep.metadata?.labels?.[SKIP_MIRROR_LABEL] === 'true') return { slices: [], problems };
  const labels: Record<string, string> = { ...(ep.metadata?.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER };
  const annotations = Object.fromEntries(Object.entries(ep.metadata?.annotations ?? {}).filter(([k]) => !DROPPED_ANNOTATIONS.has(k)));
  const slices: V1EndpointSlice[] = [];
  (ep.subsets ?? []).forEach((subset, index) => {
    const byFamily: Record<'IPv4' | 'IPv6', V1Endpoint[]> = { IPv4: [], IPv6: [] };
    let total = 0;
    const add = (a: V1EndpointAddress, ready: boolean): void => {
      const family = isIPv4(a.ip) ? 'IPv4' : isIPv6(a.ip) ? 'IPv6' : undefined;
      if (!family) {
        problems.push(`subsets[${index}]: ${JSON.stringify(a.ip)} is not an IP address`);
        return;
      }
      if (total >= MAX_ENDPOINTS_PER_SUBSET) {
        problems.push(`subsets[${index}]: ${a.ip} over the limit of ${MAX_ENDPOINTS_PER_SUBSET} endpoints per subset`);
        return;
      }
      total++;
      byFamily[family].push(toEndpoint(a, ready));
    };
    for (const a of subset.addresses ?? []) add(a, true);
    for (const a of subset.notReadyAddresses ?? []) add(a, false);
    const ports = (subset.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol }));
    for (const family of ['IPv4', 'IPv6'] as const) {
      if (byFamily[family].length === 0) continue;
      slices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: sliceName(name, index, family), namespace, labels: { ...labels }, annotations: { ...annotations } },
        addressType: family,
        endpoints: byFamily[family],
        ports,
      });
    }
  });
  return { slices, problems };
}
