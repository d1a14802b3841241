import { type FormEvent, useState } from 'react';
import { ErrorMessage } from '../../components/ui/ErrorMessage';
import { Field } from '../../components/ui/Field';
import { EVENT_TYPES, type EventType } from './api';

export interface EndpointFields {
  url: string;
  description: string | null;
  events: (EventType | '*')[];
}

/** URL, description and events of an endpoint: to create one, or to change one. */
export function EndpointForm({
  initial,
  submitLabel,
  pending,
  error,
  onSubmit,
}: {
  initial?: { url: string; description: string | null; events: string[] };
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (f: EndpointFields) => void;
}) {
  const [url, setUrl] = useState(initial?.url ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [all, setAll] = useState(!initial || initial.events.includes('*'));
  const [events, setEvents] = useState<EventType[]>(
    (initial?.events ?? []).filter((e): e is EventType => (EVENT_TYPES as readonly string[]).includes(e)),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit({ url: url.trim(), description: description.trim() || null, events: all ? ['*'] : events });
  };
  return (
    <form className="stack-form" onSubmit={submit}>
      <Field label="Endpoint URL">
        {(id) => (
          <input
            id={id}
            type="url"
            required
            placeholder="https://example.com/hooks/mail"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
        )}
      </Field>
      <Field label="Description (optional)">
        {(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>Events</legend>
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> All events
        </label>
        {!all &&
          EVENT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={events.includes(t)}
                onChange={(e) =>
                  setEvents((cur) => (e.target.checked ? [...cur, t] : cur.filter((x) => x !== t)))
                }
              />{' '}
              {t}
            </label>
          ))}
      </fieldset>
      <button type="submit" className="primary" disabled={pending || (!all && events.length === 0)}>
        {submitLabel}
      </button>
      <ErrorMessage error={error} title="The endpoint was not saved" />
    </form>
  );
}
