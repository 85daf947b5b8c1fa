/**
 * skiff/sdk/api: serving kinds. Resource definitions and their strategies (defaulting, validation,
 * status, warnings, deletion), subresources, Table columns, strategic-merge-patch metadata,
 * object metadata helpers and upstream's name and label validation, for plugins that contribute
 * kinds with `ctx.provide.resource`.
 */
export { ageOf, humanDuration } from '../api/age.js';
export { clone, generateNameSuffix, itemKeyFields, nowTimestamp, ownValue, setOwn } from '../api/meta.js';
export {
  canonicalQuantity,
  formatQuantity,
  parseQuantity,
  parseQuantityWithFormat,
  QUANTITY_PATTERN,
  type Quantity,
  type QuantityFormat,
} from '../api/quantity.js';
export {
  ALL_VERBS,
  type ApiDeprecation,
  apiVersionOf,
  type ConnectRequest,
  type KubeObject,
  type MergeRule,
  type ObjectMeta,
  type ObjectStore,
  type OwnerReference,
  type PatchMeta,
  type ResourceDefinition,
  type Strategy,
  type StrategyContext,
  type SubresourceDefinition,
  type SubresourceHandler,
  type SubresourceRequest,
  type TableColumn,
  type TableDefinition,
  type Verb,
} from '../api/types.js';
export {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  pathSegmentErrors,
  qualifiedNameErrors,
} from '../api/validation.js';
export type { UserInfo } from '../auth-types.js';
export { errors, type FieldError, isStatusError, StatusError } from '../errors.js';
export type { CachedObjects, PluginApi, ResourceCatalog } from '../plugins/plugin-api.js';
