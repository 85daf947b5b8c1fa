/**
 * ImageLocality: prefers nodes that already have the pod's images (node status.images), weighting
 * each image by its size and by how widely it is spread (an image on every node says little about
 * any one of them), scaled between 23 MiB and 1000 MiB per container, as upstream.
 */
import { Code, MAX_NODE_SCORE, status } from 'skiff/sdk/scheduler';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { objs } from './common.js';
import type { InTreePlugin } from './registry-types.js';

const SKIP = status(Code.Skip);
const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** An image name without a tag gets ":latest", as node status lists it. */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name;
}

function calculatePriority(sum: number, containers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * containers;
  const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), maxThreshold);
  return Math.trunc((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

const KEY = 'PreScoreImageLocality';

/** The pod's images, normalized, once per pod (Score runs for every node). */
function imagesOf(pod: PodInformation): string[] {
  return [...objs(pod.spec.initContainers), ...objs(pod.spec.containers)].map((c) =>
    normalizedImageName(String(c.image ?? '')),
  );
}

export const ImageLocality: InTreePlugin = {
  name: 'ImageLocality',
  factory: (_args, handle) => ({
    name: 'ImageLocality',
    preScore(state, pod) {
      // No node reports any image: every node would score 0, so there is nothing to compute.
      if (handle.cache.images.size === 0) return SKIP;
      state.write(KEY, { images: imagesOf(pod as PodInformation) });
      return undefined;
    },
    score(state, pod, node) {
      const n = node as NodeInformation;
      const images = state.read<{ images: string[] }>(KEY)?.images ?? imagesOf(pod as PodInformation);
      if (n.images.size === 0) return calculatePriority(0, images.length);
      const total = handle.cache.nodeList().length;
      let sum = 0;
      for (const image of images) {
        const s = n.images.get(image);
        if (s) sum += Math.trunc(s.size * (s.nodes.size / total));
      }
      return calculatePriority(sum, images.length);
    },
  }),
};
