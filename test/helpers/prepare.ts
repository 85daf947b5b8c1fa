/** Setting up a memory-backed server's plugins with one more, made in the test, for set-up errors. */
import { pino } from 'pino';
import { loadConfigFromObject } from '../../core/config/load.js';
import type { AnyManifest } from '../../core/config/manifests.js';
import { preparePlugins } from '../../core/server/server.js';

/** What preparing `plugins` (config entries, on storage-memory) and then `extra` throws; undefined if nothing. */
export async function setUpFailure(plugins: Record<string, unknown>, extra: AnyManifest): Promise<unknown> {
  const config = await loadConfigFromObject(
    { server: { securePort: 0, storageBackend: 'memory' }, plugins: { 'storage-memory': {}, ...plugins } },
    '(test)',
  );
  const loaded = { name: extra.name, manifest: extra, config: {}, source: '(test)', failurePolicy: 'Fail' as const };
  return preparePlugins({
    config: { ...config, plugins: [...config.plugins, { ...loaded, timeoutSeconds: 10 }] },
    role: 'check',
    logger: pino({ level: 'silent' }),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
}
