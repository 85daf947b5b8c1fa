/**
 * The warnings a 1.32 kube-apiserver gives for pods and pod templates (upstream's
 * pkg/api/pod/warnings.go and the pod and replicationcontroller strategies), letter for letter:
 * kubectl prints each as "Warning: <text>" when a manifest from an older book is applied.
 */
import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { podNameWarnings, podSpecWarnings } from '../../../plugins/api-core-v1/pod-warnings.js';
import { podStrategy } from '../../../plugins/api-core-v1/pods.js';
import { rcStrategy } from '../../../plugins/api-core-v1/replicationcontrollers.js';
import { strategyContext } from './fake-store.js';

const container = (extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'nginx:1.25', ...extra });

describe('plugins/api-core-v1: pod warnings', () => {
  it('every deprecated volume plugin, with the release it stopped working in', () => {
    const volumes = [
      { name: 'a', gitRepo: { repository: 'https://example.com/x.git' } },
      { name: 'b', glusterfs: { endpoints: 'ep', path: 'vol' } },
      { name: 'c', cephfs: { monitors: ['m'] } },
      { name: 'd', rbd: { monitors: ['m'], image: 'i' } },
      { name: 'e', flocker: { datasetName: 'x' } },
      { name: 'f', quobyte: { registry: 'r', volume: 'v' } },
      { name: 'g', scaleIO: { gateway: 'g', system: 's', secretRef: { name: 's' } } },
      { name: 'h', storageos: { volumeName: 'v' } },
      { name: 'i', photonPersistentDisk: { pdID: 'p' } },
      { name: 'j', emptyDir: {} },
    ];
    expect(podSpecWarnings({ containers: [container()], volumes }, {})).to.deep.equal([
      'spec.volumes[0].gitRepo: deprecated in v1.11',
      'spec.volumes[1].glusterfs: deprecated in v1.25, non-functional in v1.26+',
      'spec.volumes[2].cephfs: deprecated in v1.28, non-functional in v1.31+',
      'spec.volumes[3].rbd: deprecated in v1.28, non-functional in v1.31+',
      'spec.volumes[4].flocker: deprecated in v1.22, non-functional in v1.25+',
      'spec.volumes[5].quobyte: deprecated in v1.22, non-functional in v1.25+',
      'spec.volumes[6].scaleIO: deprecated in v1.16, non-functional in v1.22+',
      'spec.volumes[7].storageOS: deprecated in v1.22, non-functional in v1.25+',
      'spec.volumes[8].photonPersistentDisk: deprecated in v1.11, non-functional in v1.16+',
    ]);
  });

  it('deprecated node labels in nodeSelector, node affinity and topology spread constraints', () => {
    const spec = {
      containers: [container()],
      nodeSelector: { 'beta.kubernetes.io/os': 'linux', disk: 'ssd' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'failure-domain.beta.kubernetes.io/zone', operator: 'In', values: ['a'] }] },
            ],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 1,
              preference: {
                matchExpressions: [{ key: 'beta.kubernetes.io/instance-type', operator: 'Exists' }],
              },
            },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'failure-domain.beta.kubernetes.io/region',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: {},
        },
      ],
    };
    expect(podSpecWarnings(spec, {})).to.deep.equal([
      'spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead',
      'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead',
      'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key: beta.kubernetes.io/instance-type is deprecated since v1.17; use "node.kubernetes.io/instance-type" instead',
      'spec.topologySpreadConstraints[0].topologyKey: failure-domain.beta.kubernetes.io/region is deprecated since v1.17; use "topology.kubernetes.io/region" instead',
    ]);
  });

  it('deprecated annotations, and seccomp annotations without the field', () => {
    const metadata = {
      annotations: {
        'scheduler.alpha.kubernetes.io/critical-pod': '',
        'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default',
        'container.seccomp.security.alpha.kubernetes.io/app': 'runtime/default',
        'container.seccomp.security.alpha.kubernetes.io/sidecar': 'runtime/default',
      },
    };
    const spec = {
      containers: [
        container(),
        { ...container({ name: 'sidecar' }), securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
      ],
    };
    expect(podSpecWarnings(spec, metadata)).to.deep.equal([
      'metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead',
      'metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead',
      'metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: non-functional in v1.27+; use the "seccompProfile" field instead',
    ]);
  });

  it('duplicates apply would lose, and fractional byte quantities', () => {
    const spec = {
      hostAliases: [
        { ip: '10.0.0.1', hostnames: ['a'] },
        { ip: '10.0.0.1', hostnames: ['b'] },
      ],
      imagePullSecrets: [{ name: 'reg' }, { name: 'reg' }, { name: '' }],
      initContainers: [container({ name: 'init', resources: { requests: { memory: '1.5' } } })],
      containers: [
        container({
          env: [
            { name: 'A', value: '1' },
            { name: 'A', value: '2' },
            { name: 'B', value: 'x' },
            { name: 'B', value: '$(B):y' },
          ],
          resources: { limits: { memory: '100m', 'ephemeral-storage': '1Gi', cpu: '0.5' } },
        }),
      ],
    };
    expect(podSpecWarnings(spec, {})).to.deep.equal([
      'spec.hostAliases[1].ip: duplicate ip "10.0.0.1"',
      'spec.imagePullSecrets[1].name: duplicate name "reg"',
      'spec.imagePullSecrets[2].name: invalid empty name ""',
      'spec.initContainers[0].resources.requests[memory]: fractional byte value "1500m" is invalid, must be an integer',
      'spec.containers[0].resources.limits[memory]: fractional byte value "100m" is invalid, must be an integer',
      'spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply',
    ]);
  });

  it('a clean modern pod has none', () => {
    const spec = {
      containers: [container({ env: [{ name: 'A', value: '1' }], resources: { limits: { memory: '128Mi' } } })],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      volumes: [{ name: 'data', emptyDir: {} }],
    };
    expect(podSpecWarnings(spec, { annotations: { team: 'a' } })).to.deep.equal([]);
    expect(podNameWarnings('web-1')).to.deep.equal([]);
  });

  it('the pod strategy warns on create (a name that is no DNS label too), never on update', () => {
    const pod: KubeObject = {
      metadata: { name: 'web.v1' },
      spec: { containers: [container()], volumes: [{ name: 'src', gitRepo: { repository: 'r' } }] },
    };
    expect(podStrategy.warningsOnCreate!(pod, strategyContext())).to.deep.equal([
      "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')]",
      'spec.volumes[0].gitRepo: deprecated in v1.11',
    ]);
    expect(podStrategy.warningsOnUpdate).to.equal(undefined);
  });

  it('replication controllers warn about their template under spec.template, on update only when it changed', () => {
    const rc = (generation: number): KubeObject => ({
      metadata: { name: 'web', generation },
      spec: {
        template: {
          metadata: { annotations: { 'security.alpha.kubernetes.io/sysctls': 'x' } },
          spec: { containers: [container()], volumes: [{ name: 'src', gitRepo: { repository: 'r' } }] },
        },
      },
    });
    const expected = [
      'spec.template.metadata.annotations[security.alpha.kubernetes.io/sysctls]: non-functional in v1.11+; use the "sysctls" field instead',
      'spec.template.spec.volumes[0].gitRepo: deprecated in v1.11',
    ];
    expect(rcStrategy.warningsOnCreate!(rc(1), strategyContext())).to.deep.equal(expected);
    expect(rcStrategy.warningsOnUpdate!(rc(1), rc(1), strategyContext())).to.deep.equal([]);
    expect(rcStrategy.warningsOnUpdate!(rc(2), rc(1), strategyContext())).to.deep.equal(expected);
    const dotted = { ...rc(1), metadata: { name: 'web.v1' } };
    expect(rcStrategy.warningsOnCreate!(dotted, strategyContext())[0]).to.match(
      /^metadata\.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: \[a lowercase RFC 1123 label/,
    );
  });
});
