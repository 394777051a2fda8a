// A labelled number input, as the app's forms and export panels have them.

/** A labelled number input. */
export function NumberField({
  label,
  value,
  onChange,
  min,
  max,
  step,
  title,
}: {
  label: string;
  value: number;
  onChange: (v: number) => void;
  min?: number;
  max?: number;
  step?: number;
  title?: string;
}) {
  return (
    <label title={title}>
      {label}
      <input
        type="number"
        value={value}
        min={min}
        max={max}
        step={step}
        onChange={(e) => onChange(Number(e.target.value))}
      />
    </label>
  );
}
