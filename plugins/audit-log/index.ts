/**
 * audit-log: audit.k8s.io/v1 Event lines, one JSON object per line, per an upstream-shaped audit
 * Policy (--audit-policy-file), rotated by size (--audit-log-maxsize, --audit-log-maxbackup). Every
 * event carries the authorization decision and reason (for ABAC, the file and line) and the name
 * of the authenticator that identified the user. See README.md.
 */
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createStream } from 'rotating-file-stream';
import { definePlugin, type FlagSpec, SkiffError } from 'skiff/sdk';
import type { AuditRecord, AuditStage, UserInfo } from 'skiff/sdk/auth';
import { parse } from 'yaml';
import { z } from 'zod';
import { type AuditLevel, type AuditPolicy, checkPolicy, DEFAULT_POLICY, levelFor } from './policy.js';

const micro = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function userJson(u: UserInfo | undefined): Record<string, unknown> {
  if (!u) return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  const out: Record<string, unknown> = { username: u.name, groups: u.groups };
  if (u.uid) out.uid = u.uid;
  if (u.extra && Object.keys(u.extra).length) out.extra = u.extra;
  return out;
}

export function auditEvent(r: AuditRecord, stage: AuditStage, level: AuditLevel): Record<string, unknown> {
  const e: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level,
    auditID: r.auditID,
    stage,
    requestURI: r.requestURI,
    verb: r.verb,
    user: userJson(r.user),
  };
  if (r.impersonatedUser) e.impersonatedUser = userJson(r.impersonatedUser);
  e.sourceIPs = r.sourceIPs;
  if (r.userAgent) e.userAgent = r.userAgent;
  if (r.objectRef) e.objectRef = r.objectRef;
  if (stage !== 'RequestReceived' && r.responseStatus) e.responseStatus = r.responseStatus;
  if ((level === 'Request' || level === 'RequestResponse') && r.requestObject !== undefined)
    e.requestObject = r.requestObject;
  if (level === 'RequestResponse' && stage === 'ResponseComplete' && r.responseObject !== undefined) {
    e.responseObject = r.responseObject;
  }
  e.requestReceivedTimestamp = micro(r.requestReceivedTimestamp);
  e.stageTimestamp = micro(new Date());
  const annotations: Record<string, string> = {};
  if (r.authorization) {
    annotations['authorization.k8s.io/decision'] = r.authorization.decision;
    annotations['authorization.k8s.io/reason'] = r.authorization.authorizer
      ? `${r.authorization.authorizer}: ${r.authorization.reason}`
      : r.authorization.reason;
  }
  if (r.authenticator) annotations['authentication.skiff.dev/authenticator'] = r.authenticator;
  if (Object.keys(annotations).length) e.annotations = annotations;
  return e;
}

function loadPolicy(file: string | undefined): AuditPolicy {
  if (!file) return DEFAULT_POLICY;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SkiffError(
      'SKIFF_AUDIT_POLICY_INVALID',
      `cannot read audit policy ${file}: ${(err as Error).message}`,
      'give a YAML or JSON audit.k8s.io/v1 Policy',
    );
  }
  const { policy, problems } = checkPolicy(doc);
  if (!policy) {
    throw new SkiffError(
      'SKIFF_AUDIT_POLICY_INVALID',
      `audit policy ${file}: ${problems.join('; ')}`,
      'fix the policy (see plugins/audit-log/README.md)',
    );
  }
  return policy;
}

/**
 * An audit log (or backup) left readable by others, by an older Skiff or by hand, is made 0600
 * before anything more is written to it. Upstream keeps an existing file's mode; Skiff does not,
 * because its earlier versions created these files 0644.
 */
function tightenExisting(path: string, backups: number): { file: string; mode: string }[] {
  const tightened: { file: string; mode: string }[] = [];
  for (const file of [path, ...Array.from({ length: backups }, (_, i) => `${path}.${i + 1}`)]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // absent
    }
    if ((mode & 0o077) === 0) continue;
    chmodSync(file, 0o600);
    tightened.push({ file, mode: mode.toString(8).padStart(4, '0') });
  }
  return tightened;
}

/** Upstream's audit log flags: --audit-log-path turns the plugin on, the others tune it. */
const flags: FlagSpec[] = [
  {
    flag: '--audit-log-path <file>',
    help: 'write audit events here (turns on audit-log)',
    toConfig: (path) => ({ path }),
    enables: true,
  },
  {
    flag: '--audit-policy-file <file>',
    help: 'an audit.k8s.io/v1 Policy (default: every request at Metadata)',
    toConfig: (policyFile) => (policyFile ? { policyFile } : undefined),
  },
  {
    flag: '--audit-log-maxsize <MB>',
    help: 'rotate the audit log at this size (default 100)',
    toConfig: (mb) => (mb ? { maxSizeMB: Number(mb) } : undefined),
  },
  {
    flag: '--audit-log-maxbackup <n>',
    help: 'rotated audit logs kept (default 10)',
    toConfig: (n) => (n ? { maxBackups: Number(n) } : undefined),
  },
];

export default definePlugin({
  name: 'audit-log',
  description: 'audit.k8s.io/v1 events per an audit Policy, written as JSON lines with size-based rotation.',
  flags,
  config: z
    .object({
      /** Upstream --audit-log-path; relative paths are relative to the directory skiff starts in. */
      path: z.string().min(1),
      /** Upstream --audit-policy-file; absent: every request at Metadata level. */
      policyFile: z.string().min(1).optional(),
      /** Upstream --audit-log-maxsize, in megabytes. */
      maxSizeMB: z.number().positive().default(100),
      /** Upstream --audit-log-maxbackup: rotated files kept. */
      maxBackups: z.number().int().min(1).default(10),
    })
    .strict(),
  setup(ctx) {
    const policy = loadPolicy(ctx.config.policyFile && resolve(ctx.config.policyFile));
    const path = resolve(ctx.config.path);
    // Audit events name users and, at the Request levels, carry bodies (Secrets included): the
    // directory is made 0700 and the file 0600, as upstream's ensureLogFile does; rotation renames
    // it, so the backups keep that mode.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    for (const tightened of tightenExisting(path, ctx.config.maxBackups)) {
      ctx.logger.warn(tightened, 'audit log file was readable by others: it is 0600 now');
    }
    const stream = createStream(basename(path), {
      path: dirname(path),
      size: `${Math.max(1, Math.round(ctx.config.maxSizeMB * 1024))}K`,
      rotate: ctx.config.maxBackups,
      mode: 0o600,
    });
    stream.on('error', (err) => ctx.logger.error({ err, path }, 'audit log write failed'));
    ctx.onClose(() => new Promise<void>((r) => stream.end(() => r())));
    ctx.logger.info({ path, policy: ctx.config.policyFile ?? '(default: Metadata for everything)' }, 'audit log');
    const levels = new WeakMap<AuditRecord, { level: AuditLevel; omitStages: AuditStage[] }>();
    ctx.provide.auditSink((record, stage) => {
      let decided = levels.get(record);
      if (!decided || stage === 'RequestReceived') {
        decided = levelFor(policy, record);
        levels.set(record, decided);
      }
      if (decided.level === 'None' || decided.omitStages.includes(stage)) return;
      stream.write(`${JSON.stringify(auditEvent(record, stage, decided.level))}\n`);
    });
  },
});
