// Writes the benchmark cluster (manifests plus the peers' ipvsadm -R and ip -batch inputs).
//   node --import tsx bench/lib/write-cluster.ts DIR SERVICES ENDPOINTS
import { writeCluster } from '../fixtures.js';

const [dir, services, endpoints] = process.argv.slice(2);
if (!dir || !(Number(services) > 0) || !(Number(endpoints) > 0)) throw new Error('usage: write-cluster.ts DIR SERVICES ENDPOINTS');
console.log(JSON.stringify(writeCluster(dir, { services: Number(services), endpointsPerService: Number(endpoints) })));
