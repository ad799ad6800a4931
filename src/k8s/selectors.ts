// Label selectors kube-proxy applies to Services and EndpointSlices (KEP-2447), as strings for
// the API and as a matcher for objects read from manifests.

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** The selector for list and watch: objects of the default proxy, or of `serviceProxyName`. */
export function proxyLabelSelector(serviceProxyName?: string): string {
  if (serviceProxyName) return `${SERVICE_PROXY_NAME_LABEL}=${serviceProxyName},!${HEADLESS_LABEL}`;
  return `!${SERVICE_PROXY_NAME_LABEL},!${HEADLESS_LABEL}`;
}

/** The same rule as proxyLabelSelector, applied to an object's labels. */
export function proxyLabelsMatch(labels: Record<string, string> | undefined, serviceProxyName?: string): boolean {
  const l = labels ?? {};
  if (Object.prototype.hasOwnProperty.call(l, HEADLESS_LABEL)) return false;
  const has = Object.prototype.hasOwnProperty.call(l, SERVICE_PROXY_NAME_LABEL);
  if (serviceProxyName) return has && l[SERVICE_PROXY_NAME_LABEL] === serviceProxyName;
  return !has;
}
