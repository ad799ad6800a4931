// Kinds in a manifest that this source does not read. Built-in Kubernetes kinds (a Deployment
// next to its Service) are passed over quietly; any other kind is most likely a typo of one we
// read, so the warning names the closest.

/** The kinds the manifests source reads. */
export const READ_KINDS = ['Service', 'EndpointSlice', 'Endpoints', 'Node'] as const;

const OTHER_KUBERNETES_KINDS: ReadonlySet<string> = new Set([
  'APIService',
  'Binding',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'ComponentStatus',
  'ConfigMap',
  'ControllerRevision',
  'CronJob',
  'CSIDriver',
  'CSINode',
  'CSIStorageCapacity',
  'CustomResourceDefinition',
  'DaemonSet',
  'Deployment',
  'Event',
  'FlowSchema',
  'HorizontalPodAutoscaler',
  'Ingress',
  'IngressClass',
  'IPAddress',
  'Job',
  'KubeProxyConfiguration',
  'Lease',
  'LimitRange',
  'List',
  'MutatingWebhookConfiguration',
  'Namespace',
  'NetworkPolicy',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Pod',
  'PodDisruptionBudget',
  'PodTemplate',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'ReplicaSet',
  'ReplicationController',
  'ResourceQuota',
  'Role',
  'RoleBinding',
  'RuntimeClass',
  'Secret',
  'ServiceAccount',
  'ServiceCIDR',
  'StatefulSet',
  'StorageClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
]);

export function isOtherKubernetesKind(kind: string): boolean {
  return OTHER_KUBERNETES_KINDS.has(kind);
}

/** "did you mean Service?" when a read kind is a few edits away, else the list of kinds read. */
export function suggestKind(kind: string): string {
  let best: string = READ_KINDS[0];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of READ_KINDS) {
    const d = editDistance(kind.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const close = bestDistance <= Math.max(2, Math.floor(best.length / 3));
  return close ? `did you mean ${best}?` : `the kinds read here are ${READ_KINDS.join(', ')}`;
}

/** Levenshtein distance; inputs longer than 64 characters are compared by their first 64. */
function editDistance(a: string, b: string): number {
  const x = a.slice(0, 64);
  const y = b.slice(0, 64);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length];
}
