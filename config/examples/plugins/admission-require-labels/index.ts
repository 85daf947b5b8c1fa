/**
 * admission-require-labels: an example third-party admission plugin, written only against the SDK
 * (`skiff/sdk`). New objects of the resources you list must carry the labels you list; labels with
 * a default are filled in instead of refused. See README.md for the walk-through.
 */
import { type AdmissionAttributes, type AdmissionPlugin, definePlugin, forbidden } from 'skiff/sdk';
import { z } from 'zod';

const configSchema = z
  .object({
    /** Plural resource names ("pods", "deployments"); empty = every resource. */
    resources: z.array(z.string().min(1)).default([]),
    /** Labels every new object must have. */
    required: z.array(z.string().min(1)).min(1),
    /** Values used for required labels the object lacks, instead of refusing it. */
    defaults: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type RequireLabelsConfig = z.infer<typeof configSchema>;

/** The admission plugin itself, as a plain object: easy to test without a server. */
export function requireLabels(config: RequireLabelsConfig): AdmissionPlugin {
  const applies = (a: AdmissionAttributes) =>
    a.object !== undefined &&
    a.subresource === '' &&
    (config.resources.length === 0 || config.resources.includes(a.resource.resource));
  return {
    name: 'RequireLabels',
    handles: (operation) => operation === 'CREATE',
    // Mutating phase: fill in defaults. Runs before every validating plugin.
    admit(a) {
      if (!applies(a)) return;
      const labels = { ...a.object!.metadata.labels };
      for (const [key, value] of Object.entries(config.defaults)) labels[key] ??= value;
      a.object!.metadata.labels = labels;
    },
    // Validating phase: sees the final object, may only accept or refuse.
    validate(a) {
      if (!applies(a)) return;
      const missing = config.required.filter((key) => !a.object!.metadata.labels?.[key]);
      if (missing.length) throw forbidden(a, `missing required label(s): ${missing.join(', ')}`);
    },
  };
}

export default definePlugin<RequireLabelsConfig>({
  name: 'admission-require-labels',
  description: 'Example: new objects must carry the configured labels (defaults fill them in).',
  config: configSchema,
  setup(ctx) {
    ctx.provide.admission(requireLabels(ctx.config));
    ctx.logger.info({ required: ctx.config.required, resources: ctx.config.resources }, 'labels required');
  },
});
