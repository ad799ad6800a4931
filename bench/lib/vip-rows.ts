// The report's rows for the VIP modes step (bench/vip-modes.sh writes vip-modes.json): the cold
// sync in each --vip-mode, and the VIP step alone per family, addresses against local routes.

/** A report row before rounding (bench/report.ts's Measurement, ratio optional). */
export interface Row {
  name: string;
  value: number;
  unit: string;
  peer: string | null;
  peerValue: number | null;
  ratio?: number | null;
  target: string | null;
  met: boolean | null;
}

interface ColdSync {
  mode: string;
  syncMs: number;
  agentWallMs: number;
  addressesAtExit: number;
  routesAtExit: number;
}

interface VipStep {
  form: 'addresses' | 'routes';
  /** Absent in files written before IPv6 was measured: IPv4. */
  family?: 'inet' | 'inet6';
  vips: number;
  failed: number;
  bindMs: number;
  bindCpuMs: number;
  machineCpuMs?: number;
  moreMs: number;
  deleteLinkMs: number;
}

export interface VipModes {
  clock: string;
  services: number;
  endpoints: number;
  coldSync: ColdSync[];
  vipStep: VipStep[];
}

/**
 * Routes are the issue's linear cost: 100 more VIPs at N cost about what 100 of the first N cost
 * on average. Addresses grow as n^2, where the marginal cost is about twice the mean.
 */
export const LINEAR_MAX = 1.5;

const FAMILY_TEXT = { inet: 'IPv4 (link down)', inet6: 'IPv6 (link up, addrgenmode none, NODAD addresses)' } as const;

export function vipModeRows(v: VipModes): Row[] {
  const rows: Row[] = [];
  const scale = `${v.services} x ${v.endpoints}`;
  const clock = v.clock === 'instruction-counted' ? 'instruction-counted guest clock' : `${v.clock} clock`;
  const addresses = v.coldSync.find((c) => c.mode === 'addresses');
  for (const c of v.coldSync) {
    const peer = c.mode === 'addresses' || addresses === undefined ? null : addresses;
    const states = `${c.addressesAtExit} addresses, ${c.routesAtExit} routes at exit`;
    rows.push({
      name: `vip modes: cold sync T at ${scale}, --vip-mode ${c.mode} (${states}; ${clock})`,
      value: c.syncMs,
      unit: 'ms',
      peer: peer ? '--vip-mode addresses' : null,
      peerValue: peer?.syncMs ?? null,
      ratio: peer ? peer.syncMs / c.syncMs : null,
      target: null,
      met: null,
    });
    rows.push({
      name: `vip modes: cold sync process wall at ${scale}, --vip-mode ${c.mode}`,
      value: c.agentWallMs,
      unit: 'ms',
      peer: peer ? '--vip-mode addresses' : null,
      peerValue: peer?.agentWallMs ?? null,
      ratio: peer ? peer.agentWallMs / c.agentWallMs : null,
      target: null,
      met: null,
    });
  }
  for (const family of ['inet', 'inet6'] as const) {
    const of = (form: VipStep['form']): VipStep | undefined => v.vipStep.find((s) => s.form === form && (s.family ?? 'inet') === family);
    const [a, r] = [of('addresses'), of('routes')];
    if (a === undefined || r === undefined) continue;
    const what = `${r.vips} ${FAMILY_TEXT[family]}`;
    const failed = a.failed + r.failed;
    rows.push({
      name: `VIP step alone: ${what}, local routes (peer: addresses), wall${failed > 0 ? `; ${failed} adds failed` : ''}`,
      value: r.bindMs,
      unit: 'ms',
      peer: 'addresses',
      peerValue: a.bindMs,
      ratio: a.bindMs / r.bindMs,
      target: failed > 0 ? 'every add succeeds' : null,
      met: failed > 0 ? false : null,
    });
    rows.push({
      name: `VIP step alone: ${what}, local routes (peer: addresses), the agent process's CPU`,
      value: r.bindCpuMs,
      unit: 'ms',
      peer: 'addresses',
      peerValue: a.bindCpuMs,
      ratio: a.bindCpuMs / r.bindCpuMs,
      target: null,
      met: null,
    });
    if (a.machineCpuMs !== undefined && r.machineCpuMs !== undefined) {
      rows.push({
        name: `VIP step alone: ${what}, local routes (peer: addresses), every CPU until quiet (the kernel's deferred work included)`,
        value: r.machineCpuMs,
        unit: 'ms',
        peer: 'addresses',
        peerValue: a.machineCpuMs,
        ratio: a.machineCpuMs / r.machineCpuMs,
        target: null,
        met: null,
      });
    }
    for (const s of [r, a]) {
      // 100 more at N against the mean of 100 of the first N: about 1 when the cost is linear.
      const marginal = s.moreMs / ((s.bindMs / s.vips) * 100);
      rows.push({
        name: `VIP step alone: ${what}, ${s.form}: 100 more at ${s.vips} (${s.moreMs} ms) / 100 of the first ${s.vips} on average`,
        value: marginal,
        unit: 'ratio',
        peer: null,
        peerValue: null,
        ratio: marginal,
        target: s.form === 'routes' ? `<= ${LINEAR_MAX} (linear)` : null,
        met: s.form === 'routes' ? marginal <= LINEAR_MAX : null,
      });
    }
    rows.push({
      name: `VIP step alone: ${what}, deleting kube-ipvs0 with them on it, routes (peer: addresses)`,
      value: r.deleteLinkMs,
      unit: 'ms',
      peer: 'addresses',
      peerValue: a.deleteLinkMs,
      ratio: a.deleteLinkMs / r.deleteLinkMs,
      target: null,
      met: null,
    });
  }
  return rows;
}
