/**
 * Builds core/wire/api-schema.json, Skiff's compact table of the built-in API types, from upstream's
 * published protobuf definitions (the generated.proto files of k8s.io/api and k8s.io/apimachinery).
 *
 * The table holds facts about the wire format only: message names, field numbers, field names,
 * field types and the list/patch markers (+listType, +listMapKey, +patchMergeKey, +patchStrategy,
 * +optional). No documentation text is copied. The protobuf codec and the OpenAPI documents are both
 * generated from this one table at run time.
 *
 * Usage: node --import tsx scripts/gen/api-schema.ts <k8s.io/api checkout> <k8s.io/apimachinery checkout>
 * Each argument is a directory holding the repository's files (e.g. a `git worktree` or an export).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The API packages Skiff serves or decodes (review objects included), as paths in k8s.io/api. */
const API_PACKAGES = [
  'core/v1',
  'autoscaling/v1',
  'coordination/v1',
  'authentication/v1',
  'authorization/v1',
  'policy/v1',
  'apps/v1',
  'batch/v1',
  'rbac/v1',
  'events/v1',
  'discovery/v1',
];
const APIMACHINERY_PACKAGES = ['pkg/apis/meta/v1', 'pkg/runtime', 'pkg/api/resource', 'pkg/util/intstr'];

/**
 * [number, JSON name, type, label, flags, markers?]; label 0 = single, 1 = repeated, 2 = map ("K,V" type).
 * flags, from the Go struct tags: 'e' omitempty, 'p' pointer (a zero value is meaningful), 'i' inlined
 * into the parent in JSON (`json:",inline"`), 'o' marked +optional.
 */
type FieldRow = [number, string, string, 0 | 1 | 2, string, Record<string, string>?];

/** Go struct facts per message: proto field name → JSON name and flags. */
type GoFields = Map<string, Map<string, { json: string; flags: string }>>;
interface MessageRow {
  fields: FieldRow[];
  /** +protobuf.nullable wrappers: a message with one repeated `items` field, a bare list in JSON. */
  wrapper?: true;
}

const MARKERS = ['listType', 'listMapKey', 'patchMergeKey', 'patchStrategy', 'mapType'];
const SCALARS = new Set(['string', 'int32', 'int64', 'bool', 'bytes', 'double', 'float', 'uint32', 'uint64']);

/** Reads the Go types' struct tags: `json:"name,omitempty" protobuf:"bytes,1,opt,name=name"`. */
function parseGoStructs(dir: string): GoFields {
  const out: GoFields = new Map();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.go') || file.endsWith('_test.go') || file.startsWith('generated')) continue;
    let current: Map<string, { json: string; flags: string }> | undefined;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const struct = /^type (\w+) struct \{/.exec(line);
      if (struct) {
        current = new Map();
        out.set(struct[1]!, current);
        continue;
      }
      if (line.startsWith('}')) current = undefined;
      const field = /^\s+(\w+\s+)?(\*?)([\w.[\]*]+)\s+`(.*)`/.exec(line);
      if (!current || !field) continue;
      const json = /json:"([^"]*)"/.exec(field[4]!)?.[1];
      // An embedded struct's tag may carry no name= (EphemeralContainer's EphemeralContainerCommon):
      // its proto field is then the type's name, lower-camel.
      const embedded = field[1] ? undefined : field[3]!.replace(/^.*\./, '');
      const proto =
        /protobuf:"[^"]*name=(\w+)/.exec(field[4]!)?.[1] ??
        (embedded && embedded[0]!.toLowerCase() + embedded.slice(1));
      if (json === undefined || !proto) continue;
      const [jsonName, ...opts] = json.split(',');
      let flags = '';
      if (opts.includes('omitempty')) flags += 'e';
      if (field[2] === '*') flags += 'p';
      if (opts.includes('inline')) flags += 'i';
      current.set(proto, { json: jsonName && jsonName !== '-' ? jsonName : proto, flags });
    }
  }
  return out;
}

function parseProto(text: string, goFields: GoFields, out: Record<string, MessageRow>): void {
  const pkg = /^package ([\w.]+);/m.exec(text)?.[1];
  if (!pkg) throw new Error('no package line');
  let comments: string[] = [];
  let current: MessageRow | undefined;
  let goStruct: Map<string, { json: string; flags: string }> | undefined;
  const row = (num: number, name: string, type: string, label: 0 | 1 | 2, comments: string[]) =>
    fieldRow(num, name, type, label, comments, goStruct?.get(name));
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('//')) {
      comments.push(line.slice(2).trim());
      continue;
    }
    const message = /^message (\w+) \{$/.exec(line);
    if (message) {
      current = { fields: [] };
      goStruct = goFields.get(message[1]!);
      if (comments.includes('+protobuf.nullable=true')) current.wrapper = true;
      out[`${pkg}.${message[1]}`] = current;
    } else if (line === '}') {
      current = undefined;
    } else if (current) {
      const field = /^(optional|repeated) ([\w.]+) (\w+) = (\d+);$/.exec(line);
      const map = /^map<([\w.]+), ?([\w.]+)> (\w+) = (\d+);$/.exec(line);
      if (field) {
        const [, label, type, name, num] = field;
        current.fields.push(row(Number(num), name!, resolve(type!, pkg), label === 'repeated' ? 1 : 0, comments));
      } else if (map) {
        const [, key, value, name, num] = map;
        current.fields.push(row(Number(num), name!, `${key},${resolve(value!, pkg)}`, 2, comments));
      } else if (line !== '' && !line.startsWith('option ') && !line.startsWith('reserved')) {
        throw new Error(`unparsed line in ${pkg}: ${line}`);
      }
    }
    comments = [];
  }
}

function resolve(type: string, pkg: string): string {
  if (SCALARS.has(type)) return type;
  return type.startsWith('.') ? type.slice(1) : `${pkg}.${type}`;
}

function fieldRow(
  num: number,
  name: string,
  type: string,
  label: 0 | 1 | 2,
  comments: string[],
  go: { json: string; flags: string } | undefined,
): FieldRow {
  const flags = (go?.flags ?? '') + (comments.includes('+optional') ? 'o' : '');
  const markers: Record<string, string> = {};
  for (const c of comments) {
    const m = /^\+(\w+)(?:=(.*))?$/.exec(c);
    if (m && MARKERS.includes(m[1]!)) {
      const key = m[1]!;
      const value = m[2] ?? 'true';
      markers[key] = key === 'listMapKey' && markers[key] ? `${markers[key]},${value}` : value;
    }
  }
  const jsonName = go?.json ?? name;
  return Object.keys(markers).length
    ? [num, jsonName, type, label, flags, markers]
    : [num, jsonName, type, label, flags];
}

function main(): void {
  const [apiDir, machineryDir] = process.argv.slice(2);
  if (!apiDir || !machineryDir) {
    console.error('usage: api-schema.ts <k8s.io/api dir> <k8s.io/apimachinery dir>');
    process.exit(2);
  }
  const messages: Record<string, MessageRow> = {};
  const dirs = [
    ...API_PACKAGES.map((p) => join(apiDir, p)),
    ...APIMACHINERY_PACKAGES.map((p) => join(machineryDir, p)),
  ];
  for (const dir of dirs) parseProto(readFileSync(join(dir, 'generated.proto'), 'utf8'), parseGoStructs(dir), messages);
  const sorted = Object.fromEntries(Object.entries(messages).sort(([a], [b]) => a.localeCompare(b)));
  const target = new URL('../../core/wire/api-schema.json', import.meta.url);
  const body = Object.entries(sorted)
    .map(([name, m]) => `  ${JSON.stringify(name)}: ${JSON.stringify(m)}`)
    .join(',\n');
  writeFileSync(target, `{\n${body}\n}\n`);
  console.log(`wrote ${Object.keys(sorted).length} messages to core/wire/api-schema.json`);
}

main();
