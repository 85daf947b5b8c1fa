import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import plugin, { leaseDefinition, validateLease } from '../../../plugins/api-coordination-v1/index.js';

const lease = (spec: unknown): KubeObject => ({ metadata: { name: 'l', namespace: 'kube-system' }, spec });

describe('plugins/api-coordination-v1: leases', () => {
  it('accepts what leader election and node heartbeats write', () => {
    expect(
      validateLease(
        lease({
          holderIdentity: 'controller-manager-1',
          leaseDurationSeconds: 15,
          acquireTime: '2024-05-01T10:00:00.000000Z',
          renewTime: '2024-05-01T10:00:10.123456Z',
          leaseTransitions: 0,
        }),
      ),
    ).to.deep.equal([]);
    expect(validateLease(lease(undefined))).to.deep.equal([]);
  });

  it('checks field types, as decoding does upstream', () => {
    const errs = validateLease(lease({ holderIdentity: 5, leaseDurationSeconds: '15', renewTime: 'yesterday' }));
    expect(errs.map((e) => e.field)).to.deep.equal([
      'spec.holderIdentity',
      'spec.leaseDurationSeconds',
      'spec.renewTime',
    ]);
    expect(errs.every((e) => e.type === 'FieldValueTypeInvalid')).to.equal(true);
    expect(validateLease(lease('x'))[0]!.field).to.equal('spec');
  });

  it('upstream value rules', () => {
    const errs = validateLease(lease({ leaseDurationSeconds: 0, leaseTransitions: -1 }));
    expect(errs).to.deep.equal([
      { type: 'FieldValueInvalid', field: 'spec.leaseDurationSeconds', value: 0, detail: 'must be greater than 0' },
      {
        type: 'FieldValueInvalid',
        field: 'spec.leaseTransitions',
        value: -1,
        detail: 'must be greater than or equal to 0',
      },
    ]);
    expect(validateLease(lease({ preferredHolder: 'x' }))[0]!.type).to.equal('FieldValueForbidden');
  });

  it('is a namespaced coordination.k8s.io/v1 kind that allows create-on-update and never bumps generation', () => {
    expect(leaseDefinition).to.include({
      group: 'coordination.k8s.io',
      version: 'v1',
      kind: 'Lease',
      plural: 'leases',
      namespaced: true,
      allowCreateOnUpdate: true,
    });
    expect(leaseDefinition.shortNames).to.equal(undefined);
    expect(leaseDefinition.strategy!.tracksGeneration).to.equal(false);
    expect(plugin.name).to.equal('api-coordination-v1');
    expect(plugin.config).to.equal(undefined);
  });
});
