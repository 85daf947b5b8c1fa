/** Object metadata chores shared by every kind: timestamps, generated names, storage encoding. */
import { randomInt } from 'node:crypto';
import type { KeyValue } from '../storage/types.js';
import type { KubeObject } from './types.js';

/** RFC 3339 with second precision, as metav1.Time marshals. */
export function nowTimestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

// Upstream's generateName alphabet leaves out vowels and look-alikes so names never spell words.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

/** Stored values never carry resourceVersion: it is the key's mod revision, set on read. */
export function encodeForStorage(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

export function decodeStored(kv: Pick<KeyValue, 'value' | 'modRevision'>): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** The fields whose change bumps metadata.generation: everything but metadata and status. */
export function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A resourceVersion as a revision number, or undefined when absent. Bad input is the caller's 400. */
export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) return Number.NaN;
  return Number(rv);
}
