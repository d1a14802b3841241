import { useMutation } from '@tanstack/react-query';
import { client, type SendRequest, unwrap } from '../../lib/api';
import type { MutationConfigFor } from '../../lib/query';

export type { SendRequest };

const sendEmail = (body: SendRequest) => unwrap(client.POST('/send', { body }));

/** `POST /send`. Nothing shown elsewhere is stale after it: lists of emails refresh on their own. */
export const useSendEmail = (config?: MutationConfigFor<typeof sendEmail>) =>
  useMutation({ ...config, mutationFn: sendEmail });
