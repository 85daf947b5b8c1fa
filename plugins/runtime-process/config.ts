/** runtime-process's config block (see README.md for each key). */
import { z } from 'zod';

const imageEntry = z
  .object({
    /** The image's ENTRYPOINT (replaced by a container's command). */
    entrypoint: z.array(z.string()).default([]),
    /** The image's CMD (replaced by a container's args, dropped when a command is given). */
    cmd: z.array(z.string()).default([]),
    /** A multi-call binary (busybox): the command's first word names the applet it runs. */
    applets: z.string().optional(),
  })
  .strict();

export type ImageEntry = z.infer<typeof imageEntry>;

export const processRuntimeConfig = z
  .object({
    /** Every name on the host (bridge, namespaces, links, cgroups) starts with it. */
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,5}$/, 'a lower-case letter then up to 5 letters or digits (link names are short)')
      .default('skiff'),
    /** The bridge all local nodes' pods join; default `<prefix>0`. */
    bridge: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,14}$/)
      .optional(),
    /** Every node's podCIDR lies inside it; all of it is routed to the bridge. */
    clusterCIDR: z.string().default('10.244.0.0/16'),
    /** Where pod addresses go under host networking (same offsets as in clusterCIDR). */
    loopbackCIDR: z.string().default('127.244.0.0/16'),
    /** 'pod': a network namespace per sandbox (needs root); 'host': share the host's; 'auto': pod when allowed. */
    network: z.enum(['auto', 'pod', 'host']).default('auto'),
    /** Own PID and mount namespaces per container: 'auto' uses them when the kernel allows. */
    namespaces: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    /** Enforce memory/CPU limits with cgroup v1: 'auto' when /sys/fs/cgroup/<controller> is writable. */
    cgroups: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    /** Image name (with or without tag) → what runs; merged over the built-in table. */
    images: z.record(z.string(), imageEntry).default({}),
  })
  .strict();

export type ProcessRuntimeConfig = z.infer<typeof processRuntimeConfig>;
