import { expect } from 'chai';
import { parseRequestInfo } from '../../../core/api/request-info.js';

const q = (s = '') => new URLSearchParams(s);

describe('core/api/request-info', () => {
  const cases: [string, string, string, Partial<ReturnType<typeof parseRequestInfo>>][] = [
    ['GET', '/api/v1/pods', '', { verb: 'list', resource: 'pods', namespace: '', name: '' }],
    ['GET', '/api/v1/namespaces/default/pods', '', { verb: 'list', resource: 'pods', namespace: 'default' }],
    ['GET', '/api/v1/namespaces/default/pods/web', '', { verb: 'get', resource: 'pods', name: 'web' }],
    ['GET', '/api/v1/namespaces/default/pods', 'watch=true', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/default/pods', 'watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/default/pods', 'watch=True', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/default/pods', 'watch=false', { verb: 'list' }],
    ['GET', '/api/v1/watch/namespaces/default/pods', '', { verb: 'watch', resource: 'pods', namespace: 'default' }],
    ['POST', '/api/v1/namespaces/default/pods', '', { verb: 'create' }],
    ['PUT', '/api/v1/namespaces/default/pods/web/status', '', { verb: 'update', subresource: 'status', name: 'web' }],
    [
      'PATCH',
      '/api/v1/namespaces/default/replicationcontrollers/rc/scale',
      '',
      { verb: 'patch', resource: 'replicationcontrollers', subresource: 'scale' },
    ],
    ['DELETE', '/api/v1/namespaces/default/pods', '', { verb: 'deletecollection' }],
    ['DELETE', '/api/v1/namespaces/default/pods/web', '', { verb: 'delete' }],
    ['GET', '/api/v1/namespaces', '', { verb: 'list', resource: 'namespaces', namespace: '' }],
    [
      'GET',
      '/api/v1/namespaces/kube-system',
      '',
      { verb: 'get', resource: 'namespaces', name: 'kube-system', namespace: 'kube-system' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/x/finalize',
      '',
      { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'finalize' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/x/status',
      '',
      { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'status' },
    ],
    [
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l',
      '',
      { apiGroup: 'coordination.k8s.io', apiVersion: 'v1', resource: 'leases', name: 'l' },
    ],
    [
      'GET',
      '/api/v1/proxy/namespaces/default/pods/web/some/path',
      '',
      { verb: 'proxy', resource: 'pods', name: 'web', rest: ['some', 'path'] },
    ],
    [
      'GET',
      '/api/v1/nodes/n1/proxy/pods',
      '',
      { verb: 'get', resource: 'nodes', name: 'n1', subresource: 'proxy', rest: ['pods'] },
    ],
  ];
  for (const [method, path, query, want] of cases) {
    it(`${method} ${path}${query ? `?${query}` : ''}`, () => {
      const info = parseRequestInfo(method, path, q(query));
      expect(info.resourceRequest).to.equal(true);
      expect(info).to.include(
        want === undefined ? {} : Object.fromEntries(Object.entries(want).filter(([k]) => k !== 'rest')),
      );
      if (want.rest) expect(info.rest).to.deep.equal(want.rest);
    });
  }

  for (const path of [
    '/api',
    '/apis',
    '/api/v1',
    '/apis/coordination.k8s.io',
    '/apis/coordination.k8s.io/v1',
    '/healthz',
    '/version',
  ]) {
    it(`${path} is a non-resource request`, () => {
      const info = parseRequestInfo('GET', path, q());
      expect(info.resourceRequest).to.equal(false);
      expect(info.verb).to.equal('get');
      expect(info.path).to.equal(path);
    });
  }
});
