/**
 * Playing a kubelet's heartbeat for node lifecycle tests: the Lease kube-node-lease/<node>,
 * renewed every `periodMs` until stopped (a test stops it to make the node go silent).
 */
import { api } from '../../helpers/server.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

export async function ensureLeaseNamespace(base: string): Promise<void> {
  const r = await api(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'kube-node-lease' } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`kube-node-lease: ${r.status}`);
}

export class Heartbeat {
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(
    private readonly base: string,
    readonly node: string,
    private readonly periodMs = 200,
  ) {}

  async renew(): Promise<void> {
    const spec = { holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: new Date().toISOString() };
    const got = await api(this.base, 'GET', `${LEASES}/${this.node}`);
    const lease =
      got.status === 200
        ? { ...got.body, spec: { ...got.body.spec, ...spec } }
        : { metadata: { name: this.node }, spec };
    const r = await api(this.base, 'PUT', `${LEASES}/${this.node}`, lease);
    if (r.status !== 200 && r.status !== 201 && r.status !== 409) throw new Error(`lease of ${this.node}: ${r.status}`);
  }

  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => {
      this.renewing = this.renew().catch(() => {});
    }, this.periodMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }
}
