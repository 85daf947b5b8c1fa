import { expect } from 'chai';
import { emptyObjectOf } from '../../../plugins/api-server-side-apply/empty-object.js';

interface Skeleton {
  [field: string]: Skeleton | null;
}

describe('server-side apply: the empty object a create is compared with', () => {
  it('has every struct as {} and lists, maps and pointers without omitempty as null, as Go serializes New()', () => {
    const deployment = emptyObjectOf('apps/v1', 'Deployment') as unknown as Skeleton;
    // selector is a pointer without omitempty; strategy a struct; rollingUpdate an omitempty pointer.
    expect(deployment.spec!.selector).to.equal(null);
    expect(deployment.spec!.strategy).to.deep.equal({});
    expect(deployment.spec!.template!.spec!.containers).to.equal(null);
    expect(deployment.spec!.template!.spec).to.not.have.property('volumes');
    expect(deployment.metadata).to.deep.equal({});
    // A ReplicationController's template is an omitempty pointer: a create gets `.` for it.
    expect(emptyObjectOf('v1', 'ReplicationController')!.spec).to.deep.equal({});
  });

  it('is built once and cannot be changed; a kind the schema lacks has none', () => {
    const pod = emptyObjectOf('v1', 'Pod')!;
    expect(emptyObjectOf('v1', 'Pod')).to.equal(pod);
    expect(Object.isFrozen((pod.spec as object) ?? {})).to.equal(true);
    expect(emptyObjectOf('example.com/v1', 'Widget')).to.equal(undefined);
  });
});
