import { Field } from './Field';

/** One input per template variable; shared by single and bulk sends and the template preview. */
export function VariableInputs({
  names,
  values,
  onChange,
  legend = 'Template variables',
  hint = 'Lists and objects (for loops and nested fields) can be written as JSON.',
  placeholder,
}: {
  names: string[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  legend?: string;
  hint?: string;
  placeholder?: (name: string) => string;
}) {
  if (names.length === 0) return null;
  return (
    <fieldset className="variables">
      <legend>{legend}</legend>
      <div className="grid-2">
        {names.map((name) => (
          <Field key={name} label={name}>
            {(id) => (
              <input
                id={id}
                name={`var-${name}`}
                value={values[name] ?? ''}
                placeholder={placeholder?.(name)}
                onChange={(e) => onChange({ ...values, [name]: e.target.value })}
              />
            )}
          </Field>
        ))}
      </div>
      <small className="hint">{hint}</small>
    </fieldset>
  );
}
