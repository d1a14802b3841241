import { createMailsystemClient } from '../../../src/client/mailsystem-client';
import { getSession } from './session';

/**
 * The console calls the API through the typed client generated from the OpenAPI document
 * (src/client), as any application would; its types are the API's, not copies.
 */
export {
  type Analytics,
  type AnalyticsQuery,
  ApiError,
  type ApiKey,
  type BulkJob,
  type BulkRecipient,
  type BulkRequest,
  type DeadLetter,
  type DnsRecord,
  type Domain,
  type DomainStatus,
  type DraftPreview,
  type Email,
  type EmailAttachment,
  type EmailEvent,
  type EmailFilters,
  type EmailWithEvents,
  type InboxMessage,
  type InboxSummary,
  type Me,
  type Page,
  type ProviderHealth,
  type Readiness,
  type RenderedPreview,
  type SendingDefaults,
  type SendRequest,
  type Suppression,
  type SuppressionReason,
  type Template,
  type Tenant,
  unwrap,
  variableValue,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointInput,
  type WebhookEndpointWithSecret,
} from '../../../src/client/mailsystem-client';

// Empty means "the origin that served the console", which is how the API serves it.
const API_BASE = (import.meta.env.VITE_API_BASE ?? '').replace(/\/+$/, '');

/** The typed client, with the signed-in key or admin token. */
export const client = createMailsystemClient({ baseUrl: API_BASE, token: () => getSession()?.token });
