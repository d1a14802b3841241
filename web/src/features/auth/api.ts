import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client, type Me, unwrap } from '../../lib/api';
import { type Session, setSession } from '../../lib/session';

const withToken = (token?: string) =>
  token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } };

export const authQueries = {
  all: ['auth'] as const,
  /** `GET /me`: the tenant a key acts for and the key itself (its prefix, never the secret). */
  me: () =>
    queryOptions({
      queryKey: [...authQueries.all, 'me'],
      queryFn: () => unwrap(client.GET('/me')),
      staleTime: 60_000,
    }),
};

/**
 * Checks a token with one cheap read before it is kept, so a wrong one is told at once: `GET /me`
 * for a key (its answer names the tenant in the header right away), a one-row tenant list for the
 * admin token.
 */
async function verifyToken(session: Session): Promise<{ session: Session; me: Me | null }> {
  if (session.kind === 'admin') {
    await unwrap(
      client.GET('/admin/tenants', { params: { query: { limit: 1 } }, ...withToken(session.token) }),
    );
    return { session, me: null };
  }
  return { session, me: await unwrap(client.GET('/me', withToken(session.token))) };
}

/** Who the signed-in key is; sign-in seeds it, a reload asks again. */
export function useMe(session: Session) {
  return useQuery({ ...authQueries.me(), enabled: session.kind === 'tenant' });
}

/** Signs in once the token answered; the `GET /me` it made seeds the header. */
export function useSignIn() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: verifyToken,
    onSuccess: ({ session, me }) => {
      if (me) qc.setQueryData(authQueries.me().queryKey, me);
      setSession(session);
    },
  });
}
