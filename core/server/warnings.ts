/**
 * Warning headers as kube-apiserver writes them: one `Warning: 299 - "text"` header per warning
 * (RFC 7234's shape; kubectl prints each as "Warning: text"), every text once per response, and
 * upstream's size budget: past 4096 characters in all, every warning is cut to 256 characters.
 */
import type Koa from 'koa';

const TOTAL_BUDGET = 4 * 1024;
const TRUNCATED_LENGTH = 256;

/** Go's net/http writes header bytes as they are, turning line breaks into spaces. */
function headerSafe(text: string): string {
  // Node sends a header string as latin1: the UTF-8 bytes as latin1 characters go out unchanged.
  const spaced = Array.from(text, (c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('');
  return Buffer.from(spaced, 'utf8').toString('latin1');
}

/** Upstream's NewWarningHeader: code 299, agent "-", the text quoted with `"` and `\` escaped. */
export function warningHeader(text: string): string {
  return headerSafe(`299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`);
}

const cut = (text: string) => [...text].slice(0, TRUNCATED_LENGTH).join('');

export class WarningRecorder {
  private readonly texts: string[] = [];
  private readonly seen = new Set<string>();
  private length = 0;
  private truncating = false;

  constructor(private readonly ctx: Koa.Context) {}

  add(text: string): void {
    if (!text || this.seen.has(text)) return;
    if (this.truncating && this.length >= TOTAL_BUDGET) return;
    this.seen.add(text);
    this.texts.push(text);
    const length = [...(this.truncating ? cut(text) : text)].length;
    if (!this.truncating && this.length + length > TOTAL_BUDGET) {
      this.truncating = true;
      this.length = this.texts.reduce((sum, t) => sum + [...cut(t)].length, 0);
    } else {
      this.length += length;
    }
    const shown = this.truncating ? this.texts.map(cut) : this.texts;
    this.ctx.set('Warning', shown.map(warningHeader));
  }
}

const RECORDER = Symbol('skiff.warnings');

/** The request's recorder, made on first use. */
export function warningsOf(ctx: Koa.Context): WarningRecorder {
  const state = ctx.state as Record<symbol, WarningRecorder | undefined>;
  state[RECORDER] ??= new WarningRecorder(ctx);
  return state[RECORDER];
}
