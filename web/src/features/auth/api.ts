import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';
import type { Session } from '../../lib/session';

/** `GET /me`: the tenant a key acts for and the key itself (its prefix, never the secret). */
export interface Me {
  tenant: { id: string; name: string; status: string };
  api_key: { id: string; name: string; prefix: string };
}

export const ME_KEY = ['auth', 'me'] as const;

export const meApi = {
  get: (token?: string) => api<Me>('/me', token === undefined ? {} : { token }),
};

/** Who the signed-in key is; sign-in seeds it, a reload asks again. */
export function useMe(session: Session) {
  return useQuery({
    queryKey: ME_KEY,
    enabled: session.kind === 'tenant',
    queryFn: () => meApi.get(),
    staleTime: 60_000,
  });
}
