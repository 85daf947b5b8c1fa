/** The shapes a loaded config file takes: server settings and the plugins to set up, in order. */
import type { PluginManifest } from '../plugins/contract.js';
import type { Port } from './schema.js';

export interface ServerConfig {
  dataDir: string;
  bindAddress: string;
  securePort: Port;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  insecureBindAddress: string;
  insecurePort: Port;
  storageBackend: string;
  maxRequestBodyBytes: number;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  maxInflightBodyBytes: number;
  requestHeaderTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  shutdownTimeoutSeconds: number;
}

export interface LoadedPlugin {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: manifests differ in their config type
  manifest: PluginManifest<any>;
  config: unknown;
  /** 'built-in', an absolute path, or a package name. */
  source: string;
  /** What a failure of the plugin's admission work does: reject the request, or be skipped. */
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
}

export interface ResolvedConfig {
  file: string;
  server: ServerConfig;
  plugins: LoadedPlugin[];
}

/** Server settings the command line gives (upstream's flag names), over the config file's. */
export interface ServerOverrides {
  dataDir?: string;
  bindAddress?: string;
  securePort?: Port;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  insecureBindAddress?: string;
  insecurePort?: Port;
  storageBackend?: string;
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
}

export interface ConfigOverrides extends ServerOverrides {
  /** Plugins enabled by upstream-named flags (--token-auth-file, ...): their config keys are merged
   * over the file's entry, and the plugin is enabled even when the file does not list it. */
  plugins?: Record<string, Record<string, unknown>>;
  /**
   * Upstream's --authorization-mode: replaces every authz-* plugin of the file with these, in
   * this order (the chain's order).
   */
  authorizers?: { name: string; config?: Record<string, unknown> }[];
  /** Plugins turned off whatever the file says (upstream's --disable-admission-plugins). */
  disabled?: string[];
  /** Config merged over the file's entry without enabling the plugin (--admission-control-config-file). */
  configure?: Record<string, Record<string, unknown>>;
}
