/**
 * The KubeSchedulerConfiguration file as upstream writes it: defaults, profiles, plugin sets per
 * extension point (enabled, disabled, '*', weights, multiPoint), pluginConfig args, and the coded
 * errors for unknown fields, unknown plugins, plugins Skiff lacks, and bad args.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { SkiffError } from '../../../core/errors.js';
import { SchedulerComponent } from '../../../plugins/scheduler-default/component/component.js';
import {
  loadSchedulerConfiguration,
  schedulerConfigurationFrom,
} from '../../../plugins/scheduler-default/config/configuration.js';
import type { Framework } from '../../../plugins/scheduler-default/framework/framework.js';
import type { Json } from './harness.js';

const base = { apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration' };

function frameworks(
  doc: Json,
  external: (name: string) => never | undefined = () => undefined,
): Map<string, Framework> {
  return new SchedulerComponent({
    logger: pino({ level: 'silent' }),
    config: schedulerConfigurationFrom({ ...base, ...doc }, '(test)'),
    external,
  }).frameworks;
}

const names = (fwk: Framework, point: keyof Framework['points']) => fwk.points[point].map((p) => p.name);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkiffError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('scheduler configuration (KubeSchedulerConfiguration v1)', () => {
  it("defaults as upstream: one profile, default-scheduler, upstream 1.32's plugins and weights", () => {
    const config = loadSchedulerConfiguration();
    expect(config).to.include({
      parallelism: 16,
      percentageOfNodesToScore: 0,
      podInitialBackoffSeconds: 1,
      podMaxBackoffSeconds: 10,
    });
    expect(config.leaderElection).to.deep.include({
      leaderElect: true,
      leaseDuration: 15,
      renewDeadline: 10,
      retryPeriod: 2,
      resourceName: 'kube-scheduler',
      resourceNamespace: 'kube-system',
    });
    const fwk = frameworks({}).get('default-scheduler')!;
    expect(names(fwk, 'filter')).to.deep.equal([
      'NodeUnschedulable',
      'NodeName',
      'TaintToleration',
      'NodeAffinity',
      'NodePorts',
      'NodeResourcesFit',
      'VolumeRestrictions',
      'PodTopologySpread',
      'InterPodAffinity',
    ]);
    expect(names(fwk, 'score')).to.deep.equal([
      'TaintToleration',
      'NodeAffinity',
      'NodeResourcesFit',
      'PodTopologySpread',
      'InterPodAffinity',
      'NodeResourcesBalancedAllocation',
      'ImageLocality',
    ]);
    expect(Object.fromEntries(fwk.weights)).to.deep.equal({
      TaintToleration: 3,
      NodeAffinity: 2,
      NodeResourcesFit: 1,
      PodTopologySpread: 2,
      InterPodAffinity: 2,
      NodeResourcesBalancedAllocation: 1,
      ImageLocality: 1,
    });
    expect(names(fwk, 'queueSort')).to.deep.equal(['PrioritySort']);
    expect(names(fwk, 'postFilter')).to.deep.equal(['DefaultPreemption']);
    expect(names(fwk, 'bind')).to.deep.equal(['DefaultBinder']);
    expect(names(fwk, 'preEnqueue')).to.deep.equal(['SchedulingGates']);
  });

  it('reads an upstream-shaped YAML file: two profiles, disabled plugins, weights, args', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-sched-config-'));
    try {
      const file = join(dir, 'kube-scheduler.yaml');
      writeFileSync(
        file,
        `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
  leaseDuration: 20s
percentageOfNodesToScore: 40
profiles:
  - schedulerName: default-scheduler
  - schedulerName: bin-packer
    plugins:
      score:
        disabled:
          - name: NodeResourcesBalancedAllocation
          - name: ImageLocality
        enabled:
          - name: NodeResourcesFit
            weight: 5
      preScore:
        disabled:
          - name: '*'
    pluginConfig:
      - name: NodeResourcesFit
        args:
          apiVersion: kubescheduler.config.k8s.io/v1
          kind: NodeResourcesFitArgs
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 1
`,
      );
      const config = loadSchedulerConfiguration(file);
      expect(config.percentageOfNodesToScore).to.equal(40);
      expect(config.leaderElection).to.include({ leaderElect: false, leaseDuration: 20 });
      const all = new SchedulerComponent({ logger: pino({ level: 'silent' }), config, external: () => undefined })
        .frameworks;
      expect([...all.keys()]).to.deep.equal(['default-scheduler', 'bin-packer']);
      const packer = all.get('bin-packer')!;
      expect(names(packer, 'score')).to.deep.equal([
        'NodeResourcesFit',
        'TaintToleration',
        'NodeAffinity',
        'PodTopologySpread',
        'InterPodAffinity',
      ]);
      expect(packer.weights.get('NodeResourcesFit')).to.equal(5);
      expect(names(packer, 'preScore')).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("'*' disables every default plugin of a point; only the ones enabled there remain", () => {
    const fwk = frameworks({
      profiles: [
        {
          schedulerName: 'x',
          plugins: { filter: { disabled: [{ name: '*' }], enabled: [{ name: 'NodeResourcesFit' }] } },
        },
      ],
    }).get('x')!;
    expect(names(fwk, 'filter')).to.deep.equal(['NodeResourcesFit']);
    expect(names(fwk, 'score')).to.include('NodeResourcesFit');
  });

  it('multiPoint: disabling a plugin there removes it everywhere', () => {
    const fwk = frameworks({
      profiles: [{ schedulerName: 'x', plugins: { multiPoint: { disabled: [{ name: 'TaintToleration' }] } } }],
    }).get('x')!;
    expect(names(fwk, 'filter')).to.not.include('TaintToleration');
    expect(names(fwk, 'score')).to.not.include('TaintToleration');
  });

  it('an unknown plugin: SKIFF_SCHEDULER_UNKNOWN_PLUGIN naming where it was enabled', () => {
    const err = code(() =>
      frameworks({
        profiles: [{ schedulerName: 'x', plugins: { filter: { enabled: [{ name: 'NodeResourcesFitt' }] } } }],
      }),
    );
    expect(err).to.match(
      /^SKIFF_SCHEDULER_UNKNOWN_PLUGIN: profile "x": plugins.filter.enabled\[0\]: plugin "NodeResourcesFitt" does not exist$/,
    );
  });

  it('an upstream plugin Skiff lacks may be disabled but not enabled', () => {
    expect(
      code(() =>
        frameworks({
          profiles: [{ schedulerName: 'x', plugins: { multiPoint: { disabled: [{ name: 'VolumeBinding' }] } } }],
        }),
      ),
    ).to.equal('no error');
    expect(
      code(() =>
        frameworks({
          profiles: [{ schedulerName: 'x', plugins: { filter: { enabled: [{ name: 'VolumeBinding' }] } } }],
        }),
      ),
    ).to.match(/^SKIFF_SCHEDULER_PLUGIN_NOT_IMPLEMENTED: .*VolumeBinding/);
  });

  it("bad args: SKIFF_SCHEDULER_PLUGIN_ARGS with upstream's field path and message", () => {
    const args = (name: string, a: Json) =>
      code(() => frameworks({ profiles: [{ schedulerName: 'x', pluginConfig: [{ name, args: a }] }] }));
    expect(args('NodeResourcesFit', { scoringStrategy: { type: 'Random' } })).to.match(
      /^SKIFF_SCHEDULER_PLUGIN_ARGS: .*NodeResourcesFit: scoringStrategy.type: Unsupported value: "Random": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"/,
    );
    expect(
      args('NodeResourcesFit', {
        scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 0 }] },
      }),
    ).to.match(
      /scoringStrategy.resources\[0\].weight: Invalid value: 0: resource weight of cpu not in valid range \[1, 100\]/,
    );
    expect(args('NodeResourcesFit', { scoringStrategy: { type: 'RequestedToCapacityRatio' } })).to.match(
      /scoringStrategy.shape: Required value: at least one point must be specified/,
    );
    expect(args('InterPodAffinity', { hardPodAffinityWeight: 101 })).to.match(
      /hardPodAffinityWeight: Invalid value: 101: not in valid range \[0, 100\]/,
    );
    expect(
      args('NodeAffinity', {
        addedAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
      }),
    ).to.match(/must have at least one node selector term/);
    expect(args('Nope', {})).to.match(/^SKIFF_SCHEDULER_UNKNOWN_PLUGIN: .*pluginConfig: plugin "Nope" does not exist/);
  });

  it('unknown fields, wrong types and top-level values upstream refuses', () => {
    const invalid = (doc: Json) => code(() => schedulerConfigurationFrom({ ...base, ...doc }, 'f.yaml'));
    expect(invalid({ profiles: [{ schedulerName: 'x', plugin: {} }] })).to.equal(
      'SKIFF_SCHEDULER_CONFIG_INVALID: f.yaml: unknown field "profiles[0].plugin"',
    );
    expect(invalid({ parallelism: 'many' })).to.equal(
      'SKIFF_SCHEDULER_CONFIG_INVALID: f.yaml: parallelism: must be an integer',
    );
    expect(invalid({ percentageOfNodesToScore: 101 })).to.match(
      /percentageOfNodesToScore: Invalid value: 101: not in valid range \[0-100\]/,
    );
    expect(invalid({ podMaxBackoffSeconds: 0 })).to.match(
      /podMaxBackoffSeconds: Invalid value: 0: must be greater than or equal to PodInitialBackoffSeconds/,
    );
    expect(invalid({ profiles: [{ schedulerName: 'a' }, { schedulerName: 'a' }] })).to.match(
      /profiles\[1\].schedulerName: Duplicate value: "a"/,
    );
    expect(invalid({ leaderElection: { leaseDuration: '5s', renewDeadline: '10s' } })).to.match(
      /LeaseDuration must be greater than RenewDeadline/,
    );
    expect(invalid({ extenders: [{ urlPrefix: 'http://x' }] })).to.match(/does not call scheduler extenders/);
    expect(
      code(() =>
        schedulerConfigurationFrom(
          { apiVersion: 'kubescheduler.config.k8s.io/v1beta3', kind: 'KubeSchedulerConfiguration' },
          'f.yaml',
        ),
      ),
    ).to.match(/^SKIFF_SCHEDULER_CONFIG_VERSION/);
  });

  it('profiles must share one QueueSort plugin, and each needs one', () => {
    const noSort = code(() =>
      frameworks({ profiles: [{ schedulerName: 'x', plugins: { queueSort: { disabled: [{ name: '*' }] } } }] }),
    );
    expect(noSort).to.match(/only one queue sort plugin required for profile with scheduler name "x", but got 0/);
    const noBind = code(() =>
      frameworks({ profiles: [{ schedulerName: 'x', plugins: { bind: { disabled: [{ name: '*' }] } } }] }),
    );
    expect(noBind).to.match(/at least one bind plugin is needed for profile with scheduler name "x"/);
  });

  it('a third-party plugin comes from a Skiff plugin offering schedulerPlugin(name), with its args', () => {
    let given: unknown;
    const external = (name: string) =>
      (name === 'GpuFirst'
        ? {
            factory: (args: unknown) => {
              given = args;
              return { name: 'GpuFirst', score: () => 1 };
            },
            validateArgs: (args: unknown) =>
              Number((args as { bonus?: number } | undefined)?.bonus) < 0 ? ['bonus: must not be negative'] : [],
          }
        : undefined) as never;
    const fwk = frameworks(
      {
        profiles: [
          {
            schedulerName: 'x',
            plugins: { score: { enabled: [{ name: 'GpuFirst', weight: 4 }] } },
            pluginConfig: [{ name: 'GpuFirst', args: { bonus: 3 } }],
          },
        ],
      },
      external,
    ).get('x')!;
    expect(names(fwk, 'score')).to.include('GpuFirst');
    expect(fwk.weights.get('GpuFirst')).to.equal(4);
    expect(given).to.deep.equal({ bonus: 3 });
    const bad = code(() =>
      frameworks(
        {
          profiles: [
            {
              schedulerName: 'x',
              plugins: { score: { enabled: [{ name: 'GpuFirst' }] } },
              pluginConfig: [{ name: 'GpuFirst', args: { bonus: -1 } }],
            },
          ],
        },
        external,
      ),
    );
    expect(bad).to.match(/^SKIFF_SCHEDULER_PLUGIN_ARGS: .*GpuFirst: bonus: must not be negative/);
  });
});
