/** How an in-tree scheduler plugin is declared: its upstream name, args and factory. */
import type { SchedulerPlugin } from 'skiff/sdk/scheduler';
import type { InternalHandle } from '../framework/handle.js';

export type Args = Record<string, unknown>;

export interface ArgsSpec {
  /** Upstream's args kind: NodeResourcesFitArgs. */
  kind: string;
  /** The v1 defaults, merged under what pluginConfig gives (upstream's SetDefaults_*Args). */
  defaults(): Args;
  /** Upstream's ValidateXxxArgs: one message per problem, naming the field ("scoringStrategy.type: ..."). */
  validate(args: Args): string[];
}

export interface InTreePlugin {
  name: string;
  args?: ArgsSpec;
  factory(args: Args, handle: InternalHandle): SchedulerPlugin;
}
