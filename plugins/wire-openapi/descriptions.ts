/**
 * Description text for the OpenAPI schemas, so `kubectl explain` reads as against a real cluster.
 * Skiff does not carry upstream's prose itself: it reads the doc comments of the `kubernetes-types`
 * package (generated from upstream's OpenAPI spec) at run time, once per API package, the first time
 * a document is built. Without that package the schemas are served without descriptions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface TypeDescriptions {
  description?: string;
  fields: Map<string, string>;
}

const EMPTY: TypeDescriptions = Object.freeze({ fields: new Map<string, string>() });

/** k8s.io.api.core.v1.Pod → ["core/v1.d.ts", "Pod"]; apimachinery packages have their own places. */
function fileAndType(messageName: string): [string, string] | undefined {
  const dot = messageName.lastIndexOf('.');
  const pkg = messageName.slice(0, dot);
  const type = messageName.slice(dot + 1);
  const api = /^k8s\.io\.api\.([a-z0-9]+)\.(v[a-z0-9]+)$/.exec(pkg);
  if (api) return [`${api[1]}/${api[2]}.d.ts`, type];
  const machinery: Record<string, string> = {
    'k8s.io.apimachinery.pkg.apis.meta.v1': 'meta/v1.d.ts',
    'k8s.io.apimachinery.pkg.api.resource': 'api/resource.d.ts',
    'k8s.io.apimachinery.pkg.runtime': 'runtime.d.ts',
    'k8s.io.apimachinery.pkg.version': 'version.d.ts',
  };
  return machinery[pkg] ? [machinery[pkg], type] : undefined;
}

let root: string | null | undefined;

function packageRoot(): string | null {
  if (root === undefined) {
    try {
      root = dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
    } catch {
      root = null;
    }
  }
  return root;
}

const files = new Map<string, Map<string, TypeDescriptions>>();

/** The descriptions of one API type and its fields (empty when none are known). */
export function descriptionsOf(messageName: string): TypeDescriptions {
  const where = fileAndType(messageName);
  const dir = packageRoot();
  if (!where || !dir) return EMPTY;
  let types = files.get(where[0]);
  if (!types) {
    types = readDeclarations(join(dir, where[0]));
    files.set(where[0], types);
  }
  return types.get(where[1]) ?? EMPTY;
}

function readDeclarations(file: string): Map<string, TypeDescriptions> {
  try {
    return parseDeclarations(readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
}

const TYPE_LINE = /^export (?:interface|type) (\w+)/;
const FIELD_LINE = /^\s+(?:readonly\s+)?(?:"([^"]+)"|([\w$]+))\??:/;

/**
 * The generated declaration files are regular: a doc comment, then either `export interface X {` /
 * `export type X =` at the left margin or an indented field line inside an interface.
 */
export function parseDeclarations(text: string): Map<string, TypeDescriptions> {
  const out = new Map<string, TypeDescriptions>();
  const lines = text.split('\n');
  let pending: string | undefined;
  let current: TypeDescriptions | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('/**')) {
      const end = commentEnd(lines, i);
      pending = commentText(lines.slice(i, end + 1));
      i = end;
      continue;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      current = { description: pending, fields: new Map() };
      out.set(type[1]!, current);
    } else if (line.startsWith('}')) {
      current = undefined;
    } else if (current && pending) {
      const field = FIELD_LINE.exec(line);
      if (field) current.fields.set((field[1] ?? field[2])!, pending);
    }
    pending = undefined;
  }
  return out;
}

function commentEnd(lines: string[], start: number): number {
  for (let i = start; i < lines.length; i++) if (lines[i]!.includes('*/')) return i;
  return lines.length - 1;
}

/** The text of a doc comment; its lines joined with newlines, as the spec's description had them. */
function commentText(lines: string[]): string {
  if (lines.length === 1) return lines[0]!.trim().slice(3, -2).trim();
  return lines
    .slice(1, -1)
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}
