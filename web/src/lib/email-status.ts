import { EMAIL_STATUSES, isEmailStatus, OPEN_STATUSES } from '../../../src/domain/email-status';

/** The server's own status rules (src/domain/email-status.ts), not a copy. */
export { EMAIL_STATUSES, isEmailStatus };

/** Statuses that can still change without a webhook: worth watching. */
export const MOVING_STATUSES: ReadonlySet<string> = new Set(OPEN_STATUSES);
