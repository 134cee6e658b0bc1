// Forms whose errors come from the server: a 400 names the field at fault (`error.field`), and that field shows
// the server's message; anything else shows in the form's banner.
//
//   const form = useForm({ name: '' });
//   <form onSubmit={form.handle(async (v) => api.post('/sites', v))}>
//     <FormError form={form} />
//     <Field form={form} name="name" label="Name" required maxLength={200} />
//     <SelectField form={form} name="zone_id" label="Zone" options={[{ value: '', label: '(none)' }, ...]} />
//     <Button type="submit" loading={form.busy}>Create</Button>
//   </form>
// handle() resolves with the action's result; it returns undefined when the action failed.
import { useRef, useState } from 'preact/hooks';
import { ApiError, errorText } from '../lib/api.js';

let seq = 0;

export function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const form = {
    values,
    errors,
    formError,
    busy,
    set: (name, v) => {
      setValues((vs) => ({ ...vs, [name]: v }));
      if (errors[name]) setErrors((e) => ({ ...e, [name]: null }));
    },
    reset: (v = initial) => {
      setValues(v);
      setErrors({});
      setFormError(null);
    },
    setErrors,
    handle: (action) => async (ev) => {
      if (ev && ev.preventDefault) ev.preventDefault();
      if (busy) return undefined;
      // Client-side checks first (required fields): the server checks again.
      const el = ev && ev.currentTarget;
      if (el && el.querySelectorAll) {
        const missing = {};
        for (const inp of el.querySelectorAll('[required]')) {
          if (!String(inp.value).trim()) missing[inp.name] = 'Required.';
        }
        if (Object.keys(missing).length) {
          setErrors(missing);
          const first = el.querySelector('[aria-invalid="true"], [required]:placeholder-shown');
          if (first) first.focus();
          return undefined;
        }
      }
      setBusy(true);
      setErrors({});
      setFormError(null);
      try {
        return await action(values);
      } catch (err) {
        if (err instanceof ApiError && err.status === 400 && err.field && err.field in values) {
          setErrors({ [err.field]: err.message });
        } else {
          setFormError(err);
        }
        return undefined;
      } finally {
        setBusy(false);
      }
    },
  };
  return form;
}

export function FormError({ form, error }) {
  const e = error || (form && form.formError);
  if (!e) return null;
  return <div class="form-error" role="alert">{typeof e === 'string' ? e : errorText(e)}</div>;
}

function useId(prefix) {
  const r = useRef(null);
  if (!r.current) r.current = `${prefix}-${++seq}`;
  return r.current;
}

function FieldShell({ id, label, hint, error, children, required }) {
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}{required && <span class="req" aria-hidden="true"> *</span>}</label>
      {children}
      {hint && !error && <div class="hint" id={`${id}-hint`}>{hint}</div>}
      {error && <div class="field-error" id={`${id}-err`}>{error}</div>}
    </div>
  );
}

function aria(id, hint, error) {
  return {
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': error ? `${id}-err` : hint ? `${id}-hint` : undefined,
  };
}

export function Field({ form, name, label, hint, type = 'text', required, ...rest }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  return (
    <FieldShell id={id} label={label} hint={hint} error={error} required={required}>
      <input id={id} name={name} type={type} required={required} value={form.values[name] ?? ''}
        onInput={(e) => form.set(name, e.currentTarget.value)} {...aria(id, hint, error)} {...rest} />
    </FieldShell>
  );
}

export function TextArea({ form, name, label, hint, required, ...rest }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  return (
    <FieldShell id={id} label={label} hint={hint} error={error} required={required}>
      <textarea id={id} name={name} required={required} value={form.values[name] ?? ''}
        onInput={(e) => form.set(name, e.currentTarget.value)} {...aria(id, hint, error)} {...rest} />
    </FieldShell>
  );
}

/** options: [{ value, label }]; values are strings in the DOM: convert in the action (Number(v) || null). */
export function SelectField({ form, name, label, hint, options, required, ...rest }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  return (
    <FieldShell id={id} label={label} hint={hint} error={error} required={required}>
      <select id={id} name={name} required={required} value={form.values[name] ?? ''}
        onChange={(e) => form.set(name, e.currentTarget.value)} {...aria(id, hint, error)} {...rest}>
        {options.map((o) => <option key={o.value} value={o.value} disabled={o.disabled}>{o.label}</option>)}
      </select>
    </FieldShell>
  );
}
