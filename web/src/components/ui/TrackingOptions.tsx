import { Field } from './Field';

/** One tracking choice: the tenant's default (the field is left out), on or off. */
export type TrackingChoice = 'default' | 'on' | 'off';
export interface TrackingChoices {
  opens: TrackingChoice;
  clicks: TrackingChoice;
}
export const DEFAULT_TRACKING: TrackingChoices = { opens: 'default', clicks: 'default' };

/** The `track_opens` / `track_clicks` fields of a send, as chosen (docs/tracking.md). */
export function trackingFields(t: TrackingChoices): { track_opens?: boolean; track_clicks?: boolean } {
  return {
    ...(t.opens !== 'default' ? { track_opens: t.opens === 'on' } : {}),
    ...(t.clicks !== 'default' ? { track_clicks: t.clicks === 'on' } : {}),
  };
}

/** Open and click tracking for a send (Send and Bulk pages). */
export function TrackingOptions({
  value,
  onChange,
}: {
  value: TrackingChoices;
  onChange: (v: TrackingChoices) => void;
}) {
  const select = (label: string, key: keyof TrackingChoices) => (
    <Field label={label}>
      {(id) => (
        <select
          id={id}
          value={value[key]}
          onChange={(e) => onChange({ ...value, [key]: e.target.value as TrackingChoice })}
        >
          <option value="default">Tenant default</option>
          <option value="on">On</option>
          <option value="off">Off</option>
        </select>
      )}
    </Field>
  );
  return (
    <div className="grid-2">
      {select('Track opens', 'opens')}
      {select('Track clicks', 'clicks')}
    </div>
  );
}
