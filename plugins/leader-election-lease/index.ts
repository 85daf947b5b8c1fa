/**
 * leader-election-lease: leader election through a coordination.k8s.io/v1 Lease, offered as the
 * LEADER_ELECTION service (skiff/sdk/client) to the controller manager (--leader-elect) and, later,
 * the scheduler. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { LEADER_ELECTION } from 'skiff/sdk/client';
import { LeaseElector } from './elector.js';

export default definePlugin({
  name: 'leader-election-lease',
  description: "Leader election through a coordination.k8s.io/v1 Lease (the controller manager's --leader-elect).",
  provides: [LEADER_ELECTION],
  // `skiff controller-manager` sets it up beside the controller plugins.
  roles: ['up', 'apiserver', 'controller-manager'],
  setup(ctx) {
    ctx.provide.service(LEADER_ELECTION, { elector: (options) => new LeaseElector(options) });
  },
});
