/**
 * TaintToleration: Filter refuses nodes with a NoSchedule or NoExecute taint the pod does not
 * tolerate (UnschedulableAndUnresolvable: preempting pods would not remove the taint); Score counts
 * the PreferNoSchedule taints it does not tolerate, fewer being better.
 */
import { Code, status } from 'skiff/sdk/scheduler';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { firstUntolerated, isDoNotSchedule, type Toleration, toleratesTaint } from '../model/taints.js';
import { defaultNormalizeScore } from './common.js';
import type { InTreePlugin } from './registry-types.js';

const PRE_SCORE_KEY = 'PreScoreTaintToleration';

export const TaintToleration: InTreePlugin = {
  name: 'TaintToleration',
  factory: () => ({
    name: 'TaintToleration',
    filter(_state, pod, node) {
      const n = node as NodeInformation;
      if (n.taints.length === 0) return undefined;
      const taint = firstUntolerated(n.taints, (pod as PodInformation).tolerations, isDoNotSchedule);
      if (!taint) return undefined;
      return status(Code.UnschedulableAndUnresolvable, `node(s) had untolerated taint {${taint.key}: ${taint.value}}`);
    },
    preScore(state, pod) {
      // Tolerations with no effect cover PreferNoSchedule too.
      const prefer = (pod as PodInformation).tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
      state.write(PRE_SCORE_KEY, { tolerations: prefer } as { tolerations: Toleration[] });
      return undefined;
    },
    score(state, pod, node) {
      const n = node as NodeInformation;
      if (n.taints.length === 0) return 0;
      const tolerations =
        state.read<{ tolerations: Toleration[] }>(PRE_SCORE_KEY)?.tolerations ?? (pod as PodInformation).tolerations;
      let intolerable = 0;
      for (const t of n.taints) if (t.effect === 'PreferNoSchedule' && !toleratesTaint(tolerations, t)) intolerable++;
      return intolerable;
    },
    normalizeScore: (_state, _pod, _nodes, scores) => defaultNormalizeScore(scores, true),
    events: () => [
      { resource: 'Node', actions: ['Add', 'UpdateNodeTaint'] },
      { resource: 'Pod', actions: ['UpdatePodTolerations'] },
    ],
  }),
};
