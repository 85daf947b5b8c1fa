/** Upstream's deprecation warning for a served group/version (k8s.io/apiserver endpoints/deprecation). */
import { type ApiDeprecation, apiVersionOf, type ResourceDefinition } from './types.js';
import { KUBERNETES_VERSION } from './version.js';

function minorOf(release: string): [number, number] {
  const [major, minor] = release.split('.').map((p) => Number.parseInt(p, 10));
  return [major || 0, minor || 0];
}

/** Whether `since` has been reached by the version the server reports (upstream's IsDeprecated). */
function inEffect(d: ApiDeprecation): boolean {
  const [major, minor] = minorOf(d.since);
  const current = minorOf(`${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}`);
  if (major === 0 && minor === 0) return false;
  return major < current[0] || (major === current[0] && minor <= current[1]);
}

/** The warning every request to this resource carries; undefined when it is not (yet) deprecated. */
export function deprecationWarning(def: ResourceDefinition): string | undefined {
  const d = def.deprecated;
  if (!d || !inEffect(d)) return undefined;
  let text = `${apiVersionOf(def)} ${def.kind} is deprecated in v${minorOf(d.since).join('.')}+`;
  if (d.removedIn) text += `, unavailable in v${minorOf(d.removedIn).join('.')}+`;
  if (d.replacement) text += `; use ${apiVersionOf(d.replacement)} ${d.replacement.kind}`;
  return text;
}
