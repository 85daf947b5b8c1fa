/**
 * Upstream's static credential files (--token-auth-file, --basic-auth-file): CSV lines of
 * `secret,user,uid[,"group1,group2"]`. Shared by the authn-token-file and authn-basic-file plugins,
 * and exported for third-party authenticators that want the same format.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { UserInfo } from '../auth-types.js';
import { SkiffError } from '../errors.js';

export interface CredentialRecord {
  secret: string;
  user: UserInfo;
  /** 1-based record number, for messages. */
  record: number;
}

export interface CredentialsFile {
  records: CredentialRecord[];
  /** Non-fatal findings (empty or duplicate secrets), worded as upstream logs them. */
  warnings: string[];
}

/**
 * Parses the file. `what` names the secret column ("token", "password") for the messages.
 * A record with fewer than 3 columns stops start-up, as upstream.
 */
export function readCredentialsFile(path: string, what: 'token' | 'password', flag: string): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_AUTHN_FILE_UNREADABLE',
      `cannot read the ${what} file ${path}: ${(err as Error).message}`,
      `check the path given to ${flag} (relative paths are relative to the directory skiff starts in)`,
    );
  }
  let rows: string[][];
  try {
    rows = parse(text, { relax_column_count: true, trim: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new SkiffError(
      'SKIFF_AUTHN_FILE_INVALID',
      `${what} file ${path} is not valid CSV: ${(err as Error).message}`,
      `write one ${what},user,uid[,"group1,group2"] record per line; quote a field that contains commas`,
    );
  }
  const records: CredentialRecord[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const record = i + 1;
    if (row.length < 3) {
      throw new SkiffError(
        'SKIFF_AUTHN_FILE_INVALID',
        `${what} file '${path}' must have at least 3 columns (${what}, user name, user uid), found ${row.length} (record ${record})`,
        `complete record ${record} as ${what},user,uid[,"group1,group2"]`,
      );
    }
    const [secret, name, uid, groups] = row as [string, string, string, string?];
    if (secret === '') {
      warnings.push(`empty ${what} has been found in ${what} file '${path}', record number '${record}'`);
      return;
    }
    const key = what === 'token' ? secret : name;
    if (seen.has(key))
      warnings.push(
        `duplicate ${what === 'token' ? 'token' : 'user'} has been found in ${what} file '${path}', record number '${record}'`,
      );
    seen.add(key);
    const user: UserInfo = { name, uid, groups: groups ? groups.split(',') : [] };
    records.push({ secret, user, record });
  });
  return { records, warnings };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Compares secrets in constant time: both sides are hashed to 32 bytes first, so neither the
 * position of the first difference nor the length of the stored secret leaks through timing.
 */
export function secretsEqual(given: string, stored: string): boolean {
  return timingSafeEqual(digest(given), digest(stored));
}

const digests = new WeakMap<CredentialRecord, Buffer>();
const digestOf = (r: CredentialRecord) => {
  let d = digests.get(r);
  if (!d) {
    d = digest(r.secret);
    digests.set(r, d);
  }
  return d;
};

/** The record whose secret matches, comparing against every record so timing does not depend on which. */
export function findBySecret(records: CredentialRecord[], given: string): CredentialRecord | undefined {
  const wanted = digest(given);
  let found: CredentialRecord | undefined;
  for (const r of records) if (timingSafeEqual(wanted, digestOf(r))) found = r;
  return found;
}
