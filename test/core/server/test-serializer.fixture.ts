/**
 * A test-only plugin (loaded by path from serializers.test.ts): a made-up media type, to show that
 * the HTTP layer reads bodies, answers and watches through any plugin's serializer, not only
 * protobuf. Its format: `T:` + the JSON text. Bodies starting THROW make its decoder throw a plain
 * Error, DEEP makes it return an object nested past the limit; Secrets have no form in it, and its
 * encoder throws on anything that mentions "explode".
 */
import { definePlugin } from 'skiff/sdk';

export const TEST_MEDIA_TYPE = 'application/x-skiff-test';

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { down: value };
  return value;
}

export default definePlugin({
  name: 'test-serializer',
  description: 'test plugin: a serializer for application/x-skiff-test',
  setup(ctx) {
    ctx.provide.serializer({
      mediaType: TEST_MEDIA_TYPE,
      decode(raw) {
        const text = raw.toString('utf8');
        if (text.startsWith('THROW')) throw new Error('not a test body');
        if (text.startsWith('DEEP')) return nested(1001);
        return JSON.parse(text.slice(2));
      },
      encode(body) {
        if ((body as { kind?: string }).kind === 'Secret') return undefined;
        const text = JSON.stringify(body);
        if (text.includes('explode')) throw new Error('cannot encode explode');
        return Buffer.from(`T:${text}`);
      },
      encodeWatchEvent: (e) =>
        Buffer.from(`E:${e.type}:${(e.object as { metadata?: { name?: string } }).metadata?.name}\n`),
    });
  },
});
