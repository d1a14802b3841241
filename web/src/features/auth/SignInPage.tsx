import { type FormEvent, useState } from 'react';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import type { Session } from '../../lib/session';
import { useSignIn } from './api';

export function SignInPage() {
  const [kind, setKind] = useState<Session['kind']>('tenant');
  const [token, setToken] = useState('');
  const signIn = useSignIn();

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate({ kind, token: token.trim() });
  };

  return (
    <main className="sign-in">
      <form className="panel form" onSubmit={onSubmit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Mailsystem console</h1>
        <fieldset className="segmented">
          <legend>Sign in as</legend>
          <label>
            <input type="radio" name="kind" checked={kind === 'tenant'} onChange={() => setKind('tenant')} />{' '}
            Tenant (API key)
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === 'admin'} onChange={() => setKind('admin')} />{' '}
            Admin (admin token)
          </label>
        </fieldset>
        <Field
          label={kind === 'admin' ? 'Admin token' : 'API key'}
          hint="Kept in this browser tab only, until you sign out or close it."
        >
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              type="password"
              autoComplete="off"
              required
              className="mono"
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          )}
        </Field>
        <ErrorMessage error={signIn.error} title="Sign-in failed" />
        <button type="submit" className="primary" disabled={signIn.isPending || token.trim() === ''}>
          {signIn.isPending ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
