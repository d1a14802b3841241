import { createPublicKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dkimKeys } from './dkim-keys.js';

describe('DKIM keys at rest', () => {
  const stored = randomBytes(32);
  const configured = randomBytes(32);

  it('seals a new 2048-bit key with SECRETS_KEY and opens it only for its own row', async () => {
    const keys = dkimKeys({ configured, stored: async () => stored, production: true });
    const k = await keys.generate('tenant-1', 'domain-1');
    expect(k.sealedWith).toMatch(/^env:[0-9a-f]{12}$/);
    expect(
      createPublicKey({ key: Buffer.from(k.publicKey, 'base64'), format: 'der', type: 'spki' })
        .asymmetricKeyDetails?.modulusLength,
    ).toBe(2048);
    expect(k.privateKeySealed.toString('latin1')).not.toContain('PRIVATE KEY');
    const row = {
      key_id: k.id,
      tenant_id: 'tenant-1',
      domain_id: 'domain-1',
      selector: k.selector,
      private_key_enc: k.privateKeySealed,
      sealed_with: k.sealedWith,
    };
    expect((await keys.privateKey(row)).asymmetricKeyDetails?.modulusLength).toBe(2048);
    const fresh = dkimKeys({ configured, stored: async () => stored, production: true });
    await expect(fresh.privateKey({ ...row, tenant_id: 'tenant-2' })).rejects.toThrow();
    const otherKey = dkimKeys({ configured: randomBytes(32), stored: async () => stored, production: true });
    await expect(otherKey.privateKey(row)).rejects.toThrow(/another SECRETS_KEY/);
  });

  it('refuses to make keys in production without SECRETS_KEY, and uses the stored key elsewhere', async () => {
    const prod = dkimKeys({ configured: null, stored: async () => stored, production: true });
    await expect(prod.generate('t', 'd')).rejects.toMatchObject({ code: 'secrets_key_missing', status: 503 });
    const dev = dkimKeys({ configured: null, stored: async () => stored, production: false });
    const k = await dev.generate('t', 'd');
    expect(k.sealedWith).toBe('db');
  });
});
