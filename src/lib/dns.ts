import { Resolver } from 'node:dns/promises';

/**
 * What DNS answered for one TXT name: the records (each one's character strings joined, as
 * RFC 7208 and RFC 6376 read them), a definite "nothing there" (NXDOMAIN or no TXT record), or a
 * failure that says nothing about the records (timeout, SERVFAIL, refused).
 */
export type TxtAnswer =
  | { kind: 'found'; records: string[] }
  | { kind: 'none'; code: string }
  | { kind: 'error'; code: string };

export interface TxtResolver {
  txt(name: string): Promise<TxtAnswer>;
}

const NONE = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * TXT look-ups through node:dns's Resolver (c-ares: UDP, TCP on truncation), against `servers`
 * (`host` or `host:port`, IPv6 in brackets) or, when empty, the system's resolvers.
 */
export function createTxtResolver(opts: { servers: readonly string[]; timeoutMs: number; tries: number }) {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: opts.tries });
  if (opts.servers.length > 0) resolver.setServers([...opts.servers]);
  return {
    async txt(name: string): Promise<TxtAnswer> {
      try {
        const records = await resolver.resolveTxt(name);
        return records.length > 0
          ? { kind: 'found', records: records.map((chunks) => chunks.join('')) }
          : { kind: 'none', code: 'ENODATA' };
      } catch (err) {
        const code =
          typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'EDNS';
        return NONE.has(code) ? { kind: 'none', code } : { kind: 'error', code };
      }
    },
    /** For callers that speak node's resolveTxt shape (chunks per record), e.g. DKIM verifiers. */
    resolveTxt: (name: string) => resolver.resolveTxt(name),
    cancel: () => resolver.cancel(),
  } satisfies TxtResolver & Record<string, unknown>;
}
