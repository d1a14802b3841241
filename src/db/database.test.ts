import { describe, expect, it } from 'vitest';
import { isConnectionError } from './database.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    pgError('57P01', 'terminating connection due to administrator command'),
    pgError('57P03', 'the database system is shutting down'),
    pgError('08006'),
    pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
  ])('%s says PostgreSQL went away', (e) => {
    expect(isConnectionError(e)).toBe(true);
  });

  it.each([
    pgError('23505', 'duplicate key'),
    pgError('42P01', 'relation does not exist'),
    new Error('boom'),
    null,
  ])('%s is not a connection error', (e) => {
    expect(isConnectionError(e)).toBe(false);
  });
});
