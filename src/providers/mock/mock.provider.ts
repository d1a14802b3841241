import { randomUUID } from 'node:crypto';
import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';

/** Decides one send; undefined falls through to the next rule. */
export type MockScript = (msg: OutgoingMessage, attemptForRecipient: number) => SendOutcome | undefined;

export interface MockProviderOptions {
  /** Artificial delay before every answer, to make concurrency and timeouts observable. */
  latencyMs?: number;
}

export interface MockCall {
  message: OutgoingMessage;
  attemptForRecipient: number;
  outcome: SendOutcome;
}

/**
 * Recipient domains that answer the same way every time, so the mock can be driven through the
 * public API without access to this object:
 *   someone@fail.mock       → permanent (550), e.g. to exercise bounces and dead letters
 *   someone@transient.mock  → transient (451), e.g. to exercise retries and backoff
 *   someone@unavailable.mock → unavailable (421), the provider's trouble: exercises the breaker
 * Subdomains count too (a@x.fail.mock).
 */
export const MOCK_PERMANENT_DOMAIN = 'fail.mock';
export const MOCK_TRANSIENT_DOMAIN = 'transient.mock';
export const MOCK_UNAVAILABLE_DOMAIN = 'unavailable.mock';

/**
 * In-memory provider for tests and local runs. Per send, the first rule that answers wins:
 * failNext() queue for the recipient → script() → the fail.mock/transient.mock convention →
 * accepted (recorded in `messages`, providerMessageId `mock-<uuid>`).
 */
export class MockProvider implements EmailProvider {
  readonly name = 'mock';
  /** Every accepted message, in order of acceptance. */
  readonly messages: OutgoingMessage[] = [];
  /** Every send() with its outcome, accepted or not. */
  readonly calls: MockCall[] = [];
  latencyMs: number;
  #script: MockScript | undefined;
  readonly #queued = new Map<string, SendOutcome[]>();
  readonly #attempts = new Map<string, number>();

  constructor(options: MockProviderOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  /**
   * While true, every send answers `unavailable` (connection refused), as a provider in an outage
   * would: nothing is accepted, whatever the recipient.
   */
  down = false;

  /** Installs (or with undefined removes) a function consulted on every send. */
  script(fn: MockScript | undefined): this {
    this.#script = fn;
    return this;
  }

  /** The next `times` sends to `email` (case-insensitive) answer `outcome`. Queues add up. */
  failNext(email: string, outcome: SendOutcome, times = 1): this {
    const key = email.toLowerCase();
    const queue = this.#queued.get(key) ?? [];
    for (let i = 0; i < times; i++) queue.push(outcome);
    this.#queued.set(key, queue);
    return this;
  }

  /** How many times send() was called for this recipient since the last clear(). */
  attempts(email: string): number {
    return this.#attempts.get(email.toLowerCase()) ?? 0;
  }

  /** Forgets recorded messages, calls and attempt counts; scripts and queued failures stay. */
  clear(): void {
    this.messages.length = 0;
    this.calls.length = 0;
    this.#attempts.clear();
  }

  /** clear() plus dropping the script, queued failures and latency. */
  reset(): void {
    this.clear();
    this.#script = undefined;
    this.#queued.clear();
    this.down = false;
    this.latencyMs = 0;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    // A snapshot, so a caller reusing or mutating its object cannot rewrite history.
    const msg = structuredClone(message);
    const key = msg.to.email.toLowerCase();
    const attempt = (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, attempt);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    const outcome = this.down
      ? OUTAGE
      : (this.#queued.get(key)?.shift() ?? this.#script?.(msg, attempt) ?? byDomain(key) ?? accepted());
    if (outcome.kind === 'sent') this.messages.push(msg);
    this.calls.push({ message: msg, attemptForRecipient: attempt, outcome });
    return outcome;
  }

  async close(): Promise<void> {}
}

const OUTAGE: SendOutcome = {
  kind: 'unavailable',
  error: 'connect ECONNREFUSED (mock provider down)',
  code: 'ECONNREFUSED',
};

function accepted(): SendOutcome {
  const id = `mock-${randomUUID()}`;
  return { kind: 'sent', providerMessageId: id, response: `250 Ok: queued as ${id}` };
}

function byDomain(address: string): SendOutcome | undefined {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const is = (d: string) => domain === d || domain.endsWith(`.${d}`);
  if (is(MOCK_PERMANENT_DOMAIN)) {
    return { kind: 'permanent', error: '550 5.1.1 Mailbox does not exist (mock)', code: '550' };
  }
  if (is(MOCK_TRANSIENT_DOMAIN)) {
    return { kind: 'transient', error: '451 4.3.0 Temporary failure (mock)', code: '451' };
  }
  if (is(MOCK_UNAVAILABLE_DOMAIN)) {
    return { kind: 'unavailable', error: '421 4.3.2 Service not available (mock)', code: '421' };
  }
  return undefined;
}
