// The desired state the model computes from Services, EndpointSlices and the Node, and that
// the proxier makes true in the kernel. Pure data: no I/O, no classes.
import type { Family, RealServer, VirtualServer } from '../vocabulary/ipvs.js';

/** Which Kubernetes Service (and which of its ports) a virtual server implements. */
export interface ServiceRef {
  namespace: string;
  name: string;
  /** The ServicePort's name ('' for an unnamed single port). */
  portName: string;
  /** Why this virtual server exists. */
  kind: 'ClusterIP' | 'NodePort' | 'ExternalIP' | 'LoadBalancer';
}

export type DesiredRealServer = RealServer & {
  /** Pod behind the endpoint (from targetRef), for status --names. */
  pod?: { namespace: string; name: string };
  nodeName?: string;
  /** Endpoint is terminating (served only as a fallback when nothing is ready). */
  terminating: boolean;
};

export interface DesiredVirtualServer {
  service: VirtualServer;
  reals: DesiredRealServer[];
  owner: ServiceRef;
  /** externalTrafficPolicy Local on an external kind (NodePort/ExternalIP/LoadBalancer): no SNAT. */
  externalLocal: boolean;
  /** spec.loadBalancerSourceRanges, for LoadBalancer virtual servers (CIDR strings). */
  sourceRanges: string[];
  /**
   * The real servers were chosen for this node (internalTrafficPolicy Local, or topology hints
   * applied): other nodes rightly have others. Absent when every node has the same ones.
   */
  nodeLocalReals?: true;
}

export interface VipAddress {
  family: Family;
  address: string;
}

export interface DesiredState {
  /** By serviceKey() of the virtual server. */
  virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** VIPs to bind on kube-ipvs0, by address. */
  addresses: ReadonlyMap<string, VipAddress>;
}

/** What a sync receives: the whole state plus what changed since the previous take. */
export interface DesiredChange {
  state: DesiredState;
  /** serviceKey()s whose desired entry was added, removed or modified. */
  changedVirtualServers: ReadonlySet<string>;
  /** Addresses added or removed. */
  changedAddresses: ReadonlySet<string>;
  /** Kubernetes services ("ns/name") whose inputs changed, for metrics and logs. */
  changedServices: ReadonlySet<string>;
  /** Earliest endpoints.kubernetes.io/last-change-trigger-time among the changes (ms), for the SLI. */
  triggerTimes: number[];
}

/** The object a warning is about, as the API names it: namespace '' for a Node, name '' when it has none. */
export interface ModelObjectRef {
  kind: 'Service' | 'EndpointSlice' | 'Node';
  namespace: string;
  name: string;
}

/** A problem with one object: it was skipped or sanitised; everything else is still served. */
export interface ModelWarning {
  /** The object, typed: what a Kubernetes Event about the warning is attached to. */
  ref: ModelObjectRef;
  /** The same object for messages: "Service default/hostnames", "EndpointSlice default/hostnames-abc12", "Node node-a". */
  object: string;
  field: string;
  message: string;
}
