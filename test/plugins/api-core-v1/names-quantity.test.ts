import { expect } from 'chai';
import {
  cidrErrors,
  configKeyErrors,
  dns1035LabelErrors,
  dns1123SubdomainErrors,
  finalizerNameErrors,
  ipErrors,
  labelMapErrors,
  portNameErrors,
} from '../../../plugins/api-core-v1/names.js';
import { parseQuantity, resourceListErrors } from '../../../plugins/api-core-v1/quantity.js';

describe('plugins/api-core-v1: names and quantities', () => {
  it('DNS-1123 subdomain message is upstream verbatim', () => {
    expect(dns1123SubdomainErrors('Bad_Name')).to.deep.equal([
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    expect(dns1123SubdomainErrors('a.b-c')).to.deep.equal([]);
  });

  it('DNS-1035 labels must start with a letter', () => {
    expect(dns1035LabelErrors('web-1')).to.deep.equal([]);
    expect(dns1035LabelErrors('1web')[0]).to.match(/^a DNS-1035 label must consist of/);
    expect(dns1035LabelErrors('a'.repeat(64))).to.include('must be no more than 63 characters');
  });

  it('port names are IANA service names', () => {
    expect(portNameErrors('http')).to.deep.equal([]);
    expect(portNameErrors('8080')).to.deep.equal(['must contain at least one letter (a-z)']);
    expect(portNameErrors('a--b')).to.deep.equal(['must not contain consecutive hyphens']);
    expect(portNameErrors('-web')).to.deep.equal(['must not begin or end with a hyphen']);
    expect(portNameErrors('way-too-long-port-name')).to.include('must be no more than 15 characters');
  });

  it('config keys, finalizers, IPs and CIDRs', () => {
    expect(configKeyErrors('app.properties')).to.deep.equal([]);
    expect(configKeyErrors('..data')).to.deep.equal(["must not start with '..'"]);
    expect(finalizerNameErrors('kubernetes')).to.deep.equal([]);
    expect(finalizerNameErrors('example.com/cleanup')).to.deep.equal([]);
    expect(ipErrors('127.0.0.1')).to.deep.equal([]);
    expect(ipErrors('::1')).to.deep.equal([]);
    expect(ipErrors('1.2.3')).to.have.length(1);
    expect(cidrErrors('10.0.0.0/8')).to.deep.equal([]);
    expect(cidrErrors('10.0.0.0')).to.have.length(1);
  });

  it('label maps check keys and values', () => {
    expect(labelMapErrors({ app: 'web' }, 'spec.selector')).to.deep.equal([]);
    const errs = labelMapErrors({ 'bad key': 'x', ok: 'bad value!' }, 'spec.selector');
    expect(errs.map((e) => e.value)).to.deep.equal(['bad key', 'bad value!']);
  });

  it('parses quantities exactly', () => {
    expect(parseQuantity('1')).to.equal(1_000_000_000n);
    expect(parseQuantity('100m')).to.equal(100_000_000n);
    expect(parseQuantity('0.1')).to.equal(parseQuantity('100m'));
    expect(parseQuantity('1Ki')).to.equal(1024n * 1_000_000_000n);
    expect(parseQuantity('1k')).to.equal(1000n * 1_000_000_000n);
    expect(parseQuantity('1e3')).to.equal(parseQuantity('1k'));
    expect(parseQuantity(2)).to.equal(2_000_000_000n);
    expect(parseQuantity('1n')).to.equal(1n);
    expect(parseQuantity('-1')).to.equal(-1_000_000_000n);
    for (const bad of ['', 'x', '1Zi', '1..2', '.', {}]) expect(parseQuantity(bad), String(bad)).to.equal(undefined);
  });

  it('resource lists report the upstream field path', () => {
    const errs = resourceListErrors({ cpu: '-1', 'bad name!': '1' }, 'spec.hard');
    expect(errs.map((e) => e.field)).to.deep.equal(['spec.hard[cpu]', 'spec.hard[bad name!]']);
  });
});
