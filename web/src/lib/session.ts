/** Who is signed in: a tenant's API key or the admin token, kept for this browser tab only. */
export interface Session {
  kind: 'tenant' | 'admin';
  token: string;
}

const STORAGE_KEY = 'mailsystem.console.session';
const listeners = new Set<() => void>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    if ((parsed.kind === 'tenant' || parsed.kind === 'admin') && typeof parsed.token === 'string') {
      return { kind: parsed.kind, token: parsed.token };
    }
  } catch {
    // A broken entry is the same as none.
  }
  return null;
}

export function getSession(): Session | null {
  return current;
}

export function setSession(next: Session | null) {
  current = next;
  if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const l of listeners) l();
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What a key looks like in the header: its start only, never the whole secret. */
export function maskToken(token: string): string {
  return token.length <= 10 ? '••••' : `${token.slice(0, 8)}…`;
}
