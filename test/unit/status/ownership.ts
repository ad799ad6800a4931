// A desired state and the record it implies, for names, JSON, diff and runStatus tests.
import { realKey, serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import type { DesiredRealServer, DesiredState, DesiredVirtualServer } from '../../../src/model/types.js';

function desiredReal(address: string, port: number, pod: string, nodeName: string, more: Partial<DesiredRealServer> = {}): DesiredRealServer {
  return {
    family: address.includes(':') ? 'inet6' : 'inet',
    address,
    port,
    forward: 'masq',
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    pod: { namespace: 'default', name: pod },
    nodeName,
    terminating: false,
    ...more,
  };
}

export function desiredState(): DesiredState {
  const vs: DesiredVirtualServer[] = [
    {
      service: { family: 'inet', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
      reals: [desiredReal('10.0.0.5', 6443, 'apiserver-a', 'node-a')],
      owner: { namespace: 'default', name: 'kubernetes', portName: 'https', kind: 'ClusterIP' },
      externalLocal: false,
      sourceRanges: [],
    },
    {
      service: {
        family: 'inet6',
        protocol: 'UDP',
        address: 'fd00:10:96:0::a',
        port: 53,
        scheduler: 'rr',
        flags: SvcFlag.PERSISTENT,
        timeout: 300,
        netmask: 128,
      },
      reals: [desiredReal('fd00:10:244::5', 53, 'coredns-1', 'node-b'), desiredReal('fd00:10:244::6', 53, 'coredns-2', 'node-a')],
      owner: { namespace: 'kube-system', name: 'kube-dns', portName: '', kind: 'ClusterIP' },
      externalLocal: false,
      sourceRanges: [],
    },
    {
      service: { family: 'inet', protocol: 'TCP', address: '192.168.1.10', port: 30080, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
      reals: [desiredReal('10.244.1.7', 8080, 'web-1', 'node-b', { forward: 'route' })],
      owner: { namespace: 'shop', name: 'web', portName: 'http', kind: 'NodePort' },
      externalLocal: true,
      sourceRanges: [],
    },
  ];
  return {
    virtualServers: new Map(vs.map((v) => [serviceKey(v.service), v])),
    addresses: new Map(),
  };
}

export { realKey };
