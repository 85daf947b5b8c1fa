import { expect } from 'chai';
import { descriptionsOf, parseDeclarations } from '../../../plugins/wire-openapi/descriptions.js';

describe('OpenAPI descriptions from declaration doc comments', () => {
  it('reads type and field comments, single- and multi-line, quoted and readonly fields', () => {
    const types = parseDeclarations(
      [
        '/** Thing is a thing. */',
        'export interface Thing {',
        '    /**',
        '     * name is the name.',
        '     *',
        '     * \tIndented line.',
        '     */',
        '    name?: string;',
        '    /** Read-only status. */',
        '    readonly status?: Status;',
        '    /** A quoted key. */',
        '    "x-kubernetes-x"?: boolean;',
        '    undocumented: number;',
        '}',
        '/** Alias. */',
        'export type Alias = string;',
        'export interface Bare {',
        '    /** inner */',
        '    a: string;',
        '}',
      ].join('\n'),
    );
    const thing = types.get('Thing')!;
    expect(thing.description).to.equal('Thing is a thing.');
    expect(thing.fields.get('name')).to.equal('name is the name.\n\n\tIndented line.');
    expect(thing.fields.get('status')).to.equal('Read-only status.');
    expect(thing.fields.get('x-kubernetes-x')).to.equal('A quoted key.');
    expect(thing.fields.has('undocumented')).to.equal(false);
    expect(types.get('Alias')!.description).to.equal('Alias.');
    expect(types.get('Bare')!.description).to.equal(undefined);
    expect(types.get('Bare')!.fields.get('a')).to.equal('inner');
  });

  it('finds the installed package text for core, meta and resource types', () => {
    expect(descriptionsOf('k8s.io.api.core.v1.Pod').description).to.match(/^Pod is a collection of containers/);
    expect(descriptionsOf('k8s.io.api.core.v1.PodSpec').fields.get('containers')).to.match(/^List of containers/);
    expect(descriptionsOf('k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta').fields.get('name')).to.match(/^Name must/);
    expect(descriptionsOf('k8s.io.apimachinery.pkg.api.resource.Quantity').description).to.match(/^Quantity is/);
    expect(descriptionsOf('k8s.io.api.coordination.v1.LeaseSpec').fields.get('holderIdentity')).to.be.a('string');
  });

  it('knows nothing of packages it has no file for', () => {
    expect(descriptionsOf('example.com.v1.Widget').fields.size).to.equal(0);
    expect(descriptionsOf('k8s.io.api.core.v1.NoSuchType').description).to.equal(undefined);
  });
});
