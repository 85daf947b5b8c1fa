/** Credentials in the Authorization header, parsed as upstream's bearertoken and basicauth handlers do. */
import type { IncomingHttpHeaders } from 'node:http';

const header = (headers: IncomingHttpHeaders) => (headers.authorization ?? '').trim();

/** The bearer token, or undefined when the header carries none (no opinion, not a failure). */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const parts = header(headers).split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  const token = parts[1]!;
  return token === '' ? undefined : token;
}

/** Basic credentials, or undefined when absent or not decodable. */
export function basicCredentials(headers: IncomingHttpHeaders): { user: string; password: string } | undefined {
  const parts = header(headers).split(' ');
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(parts[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The Authorization header's scheme, lower-cased ("bearer", "basic"), or undefined without one. */
export function authorizationScheme(headers: IncomingHttpHeaders): string | undefined {
  const scheme = header(headers).split(' ')[0];
  return scheme ? scheme.toLowerCase() : undefined;
}
