import type { QueryKey, UseMutationOptions } from '@tanstack/react-query';
import { useMutation, useQueryClient } from '@tanstack/react-query';

/** What a page may add to a feature's mutation (its own onSuccess, onError…). */
export type MutationConfig<Variables, Data> = Omit<UseMutationOptions<Data, Error, Variables>, 'mutationFn'>;

/**
 * A mutation that, once it succeeds, invalidates the queries under `invalidates` (a feature's key
 * root) before the page's own onSuccess runs.
 */
export function useInvalidatingMutation<Variables, Data>(
  mutationFn: (v: Variables) => Promise<Data>,
  invalidates: QueryKey,
  config: MutationConfig<Variables, Data> = {},
) {
  const qc = useQueryClient();
  return useMutation({
    ...config,
    mutationFn,
    onSuccess: async (...args) => {
      await qc.invalidateQueries({ queryKey: invalidates });
      return config.onSuccess?.(...args);
    },
  });
}

/** The config a page may give the mutation hook of `fn`. */
export type MutationConfigFor<F extends (v: never) => Promise<unknown>> = MutationConfig<
  Parameters<F>[0],
  Awaited<ReturnType<F>>
>;
