import { Field } from '../../components/ui/Field';

/** One input per template variable; shared by single and bulk sends. */
export function VariableInputs({
  names,
  values,
  onChange,
}: {
  names: string[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  if (names.length === 0) return null;
  return (
    <fieldset className="variables">
      <legend>Template variables</legend>
      <div className="grid-2">
        {names.map((name) => (
          <Field key={name} label={name}>
            {(id) => (
              <input
                id={id}
                name={`var-${name}`}
                value={values[name] ?? ''}
                onChange={(e) => onChange({ ...values, [name]: e.target.value })}
              />
            )}
          </Field>
        ))}
      </div>
      <small className="hint">Lists and objects (for loops and nested fields) can be written as JSON.</small>
    </fieldset>
  );
}
