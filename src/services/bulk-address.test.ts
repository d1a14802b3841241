import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidEmailAddress } from '../domain/address.js';
import { COMMON_ADDRESS } from './bulk.service.js';

/** The bulk accept's fast path for addresses may only ever accept what the full check accepts. */
describe('the bulk fast path for common addresses', () => {
  const chars = fc.constantFrom(...'abz09_+-.@-xn'.split(''), 'A', '!', ' ', '\n', 'é');
  const candidate = fc.oneof(
    fc.string({ unit: chars, maxLength: 80 }),
    fc
      .tuple(fc.string({ unit: chars, maxLength: 70 }), fc.string({ unit: chars, maxLength: 70 }))
      .map(([l, d]) => `${l}@${d}`),
    fc.emailAddress().map((e) => e.toLowerCase()),
  );

  it('accepts nothing the full check refuses', () => {
    fc.assert(
      fc.property(candidate, (address) => {
        if (address.length <= 254 && COMMON_ADDRESS.test(address)) {
          expect(isValidEmailAddress(address)).toBe(true);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('covers the usual addresses', () => {
    for (const a of ['user1@example.com', 'first.last+tag@mail.example.co.uk', 'a_b-c@x-y.io'])
      expect(COMMON_ADDRESS.test(a)).toBe(true);
    for (const a of [
      'a..b@example.com',
      '.a@example.com',
      'a@-x.com',
      'a@x.c',
      'a@example',
      `${'a'.repeat(65)}@x.com`,
    ])
      expect(COMMON_ADDRESS.test(a)).toBe(false);
  });
});
