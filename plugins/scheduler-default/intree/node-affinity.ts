/**
 * NodeAffinity: spec.nodeSelector and required node affinity (Filter; PreFilter narrows the nodes
 * to those matchFields metadata.name names), preferred node affinity (Score, the sum of the
 * weights of the matching terms, scaled), and the profile's addedAffinity applied to every pod.
 */
import { Code, status } from 'skiff/sdk/scheduler';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { type NodeMatcher, nodeSelector, preferredTerms, requiredNodeAffinity } from '../model/selectors.js';
import { defaultNormalizeScore, obj, objs } from './common.js';
import type { Args, InTreePlugin } from './registry-types.js';

const FILTER_KEY = 'PreFilterNodeAffinity';
const SCORE_KEY = 'PreScoreNodeAffinity';
const DIDNT_MATCH = status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector");
const ENFORCED = status(Code.UnschedulableAndUnresolvable, "node(s) didn't match scheduler-enforced node affinity");
const CONFLICT = status(Code.UnschedulableAndUnresolvable, 'pod affinity terms conflict');

interface FilterState {
  required?: NodeMatcher;
}

/** Node names a term pins with matchFields metadata.name In (intersected); undefined: any node. */
function termNodeNames(term: Record<string, unknown>): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (const f of objs(term.matchFields)) {
    if (f.key !== 'metadata.name' || f.operator !== 'In') continue;
    const values = new Set(Array.isArray(f.values) ? f.values.map(String) : []);
    names = names ? new Set([...names].filter((n) => values.has(n))) : values;
  }
  return names;
}

/** The nodes required affinity can only ever mean (terms ORed), or undefined when any node may. */
function pinnedNodes(spec: Record<string, unknown>): Set<string> | undefined {
  const required = obj(obj(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined || required === null) return undefined;
  let all: Set<string> | undefined;
  for (const term of objs(obj(required).nodeSelectorTerms)) {
    const names = termNodeNames(term);
    if (!names) return undefined;
    all = new Set([...(all ?? []), ...names]);
  }
  return all;
}

export const NodeAffinity: InTreePlugin = {
  name: 'NodeAffinity',
  args: {
    kind: 'NodeAffinityArgs',
    defaults: () => ({}),
    validate: (args) => validateAddedAffinity(args.addedAffinity),
  },
  factory(args: Args) {
    const added = obj(args.addedAffinity);
    const addedRequired = added.requiredDuringSchedulingIgnoredDuringExecution
      ? nodeSelector(added.requiredDuringSchedulingIgnoredDuringExecution)
      : undefined;
    const addedPreferred = preferredTerms(added.preferredDuringSchedulingIgnoredDuringExecution);
    return {
      name: 'NodeAffinity',
      preFilter(state, pod) {
        const spec = (pod as PodInformation).spec;
        const required = requiredNodeAffinity(spec);
        if (!required && !addedRequired) return { status: status(Code.Skip) };
        state.write(FILTER_KEY, { required } as FilterState);
        if (addedRequired) return undefined;
        const pinned = pinnedNodes(spec);
        if (pinned && pinned.size === 0) return { status: CONFLICT };
        return pinned ? { nodeNames: pinned } : undefined;
      },
      filter(state, pod, node) {
        const n = node as NodeInformation;
        if (addedRequired && !addedRequired(n)) return ENFORCED;
        const s = state.read<FilterState>(FILTER_KEY) ?? {
          required: requiredNodeAffinity((pod as PodInformation).spec),
        };
        return s.required && !s.required(n) ? DIDNT_MATCH : undefined;
      },
      preScore(state, pod) {
        const spec = (pod as PodInformation).spec;
        const preferred = preferredTerms(
          obj(obj(spec.affinity).nodeAffinity).preferredDuringSchedulingIgnoredDuringExecution,
        );
        if (!preferred && !addedPreferred) return status(Code.Skip);
        state.write(SCORE_KEY, { preferred } as { preferred?: (n: NodeInformation) => number });
        return undefined;
      },
      score(state, pod, node) {
        const n = node as NodeInformation;
        let count = addedPreferred ? addedPreferred(n) : 0;
        const preferred =
          state.read<{ preferred?: (n: NodeInformation) => number }>(SCORE_KEY)?.preferred ??
          preferredTerms(
            obj(obj((pod as PodInformation).spec.affinity).nodeAffinity)
              .preferredDuringSchedulingIgnoredDuringExecution,
          );
        if (preferred) count += preferred(n);
        return count;
      },
      normalizeScore: (_state, _pod, _nodes, scores) => defaultNormalizeScore(scores, false),
      events: () => [
        { resource: 'Node', actions: ['Add', 'UpdateNodeLabel'] },
        { resource: 'Pod', actions: ['Update'] },
      ],
    };
  },
};

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];

function requirementErrors(r: Record<string, unknown>, at: string, field: boolean): string[] {
  const errs: string[] = [];
  const values = Array.isArray(r.values) ? r.values : [];
  if (field && r.key !== 'metadata.name')
    errs.push(`${at}.key: Invalid value: ${JSON.stringify(r.key)}: not a valid field selector key`);
  if (!OPERATORS.includes(String(r.operator)) || (field && !['In', 'NotIn'].includes(String(r.operator)))) {
    errs.push(`${at}.operator: Invalid value: ${JSON.stringify(r.operator)}: not a valid selector operator`);
  } else if (['In', 'NotIn'].includes(String(r.operator)) && values.length === 0) {
    errs.push(`${at}.values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`);
  } else if (['Exists', 'DoesNotExist'].includes(String(r.operator)) && values.length > 0) {
    errs.push(`${at}.values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`);
  } else if (['Gt', 'Lt'].includes(String(r.operator)) && (values.length !== 1 || !/^-?\d+$/.test(String(values[0])))) {
    errs.push(`${at}.values: Required value: must be specified single value when \`operator\` is 'Lt' or 'Gt'`);
  }
  return errs;
}

function termErrors(term: Record<string, unknown>, at: string): string[] {
  return [
    ...objs(term.matchExpressions).flatMap((r, i) => requirementErrors(r, `${at}.matchExpressions[${i}]`, false)),
    ...objs(term.matchFields).flatMap((r, i) => requirementErrors(r, `${at}.matchFields[${i}]`, true)),
  ];
}

/** Upstream's ValidateNodeAffinityArgs: addedAffinity must be a valid NodeAffinity. */
function validateAddedAffinity(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const a = obj(value);
  const errs: string[] = [];
  const required = a.requiredDuringSchedulingIgnoredDuringExecution;
  if (required !== undefined && required !== null) {
    const terms = objs(obj(required).nodeSelectorTerms);
    const at = 'addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
    if (terms.length === 0) errs.push(`${at}: Required value: must have at least one node selector term`);
    for (const [i, t] of terms.entries()) errs.push(...termErrors(t, `${at}[${i}]`));
  }
  objs(a.preferredDuringSchedulingIgnoredDuringExecution).forEach((p, i) => {
    const at = `addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    const w = Number(p.weight);
    if (!Number.isInteger(w) || w < 1 || w > 100)
      errs.push(`${at}.weight: Invalid value: ${JSON.stringify(p.weight)}: must be in the range 1-100`);
    errs.push(...termErrors(obj(p.preference), `${at}.preference`));
  });
  return errs;
}
