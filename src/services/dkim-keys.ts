import { createPrivateKey, generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { NewDkimKey } from '../db/domains.repository.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../lib/ids.js';
import { keyFingerprint, open, seal } from '../lib/secret-box.js';

const generateRsa = promisify(generateKeyPair);

export const DKIM_KEY_BITS = 2048;

/** The TXT value of a DKIM key record (RFC 6376 §3.6.1). */
export const dkimRecordValue = (publicKey: string): string => `v=DKIM1; k=rsa; p=${publicKey}`;

/** What seals DKIM private keys: SECRETS_KEY, or (outside production) a key kept in PostgreSQL. */
export interface SealingKeys {
  /** SECRETS_KEY as bytes, or null when it is not set. */
  configured: Buffer | null;
  /** The key kept in the database (created on first use). */
  stored: () => Promise<Buffer>;
  /** Production refuses to fall back to the stored key for new keys. */
  production: boolean;
}

/** Binds a sealed private key to its row: a box moved to another key row does not open. */
const context = (tenantId: string, domainId: string, selector: string) =>
  `dkim-private-key:${tenantId}:${domainId}:${selector}`;

export function dkimKeys(keys: SealingKeys) {
  const envRef = keys.configured ? `env:${keyFingerprint(keys.configured)}` : null;
  // Decrypted keys by key id. A key's material never changes, so entries never go stale;
  // retired keys simply stop being asked for.
  const cache = new Map<string, KeyObject>();
  const CACHE_LIMIT = 1000;

  const sealingKeyFor = async (sealedWith: string): Promise<Buffer> => {
    if (sealedWith === 'db') return keys.stored();
    if (envRef !== null && sealedWith === envRef && keys.configured) return keys.configured;
    throw new Error(
      `this DKIM key was sealed with another SECRETS_KEY (${sealedWith}); set the key it was sealed with`,
    );
  };

  return {
    /**
     * A new 2048-bit RSA key pair for a tenant's domain, its private key sealed at once. The
     * plaintext key exists only inside this call.
     */
    async generate(tenantId: string, domainId: string): Promise<NewDkimKey> {
      if (!keys.configured && keys.production) throw new AppError('secrets_key_missing');
      const sealing = keys.configured ?? (await keys.stored());
      const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: DKIM_KEY_BITS });
      const selector = `ms${randomBytes(5).toString('hex')}`;
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
      return {
        id: newId(),
        selector,
        publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        privateKeySealed: seal(sealing, pem, context(tenantId, domainId, selector)),
        sealedWith: envRef ?? 'db',
      };
    },

    /** The private key of a stored key row, opened (and kept in memory for the next message). */
    async privateKey(k: {
      key_id: string;
      tenant_id: string;
      domain_id: string;
      selector: string;
      private_key_enc: Buffer;
      sealed_with: string;
    }): Promise<KeyObject> {
      const cached = cache.get(k.key_id);
      if (cached) return cached;
      const pem = open(
        await sealingKeyFor(k.sealed_with),
        k.private_key_enc,
        context(k.tenant_id, k.domain_id, k.selector),
      );
      const key = createPrivateKey({ key: pem, format: 'pem' });
      pem.fill(0);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(k.key_id, key);
      return key;
    },
  };
}
export type DkimKeys = ReturnType<typeof dkimKeys>;
