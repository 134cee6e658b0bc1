// Forms whose errors come from the server: a 400 names the field at fault (`error.field`), and that field shows
// the server's message; anything else shows in the form's banner.
//
//   const form = useForm({ name: '', action: { port: '' } });
//   <form onSubmit={form.handle(async (v) => api.post('/sites', v))}>
//     <FormError form={form} />
//     <Field form={form} name="name" label="Name" required maxLength={200} />
//     <Field form={form} name="action.port" label="Port" />            // nested: values.action.port
//     <SelectField form={form} name="zone_id" label="Zone" options={[{ value: '', label: '(none)' }, ...]} />
//     <Button type="submit" loading={form.busy}>Create</Button>
//   </form>
// handle() resolves with the action's result; it returns undefined when the action failed.
//
// Field names may be paths: "action.port" reads and writes values.action.port (or a flat key "action.port" when
// the initial values have one), and the server's error for field "action.port" shows under it. Where the form's
// names differ from the API's, map them: useForm(initial, { fields: { 'time_window.start': 'tw_start' } }) or a
// function (apiField) => formField (null: fall back to the rules below); handle(action, { fields }) maps for one
// action. Without a mapping, the error goes to the field of that name; else to its nearest parent that is a field
// ("tags[3]" -> "tags", "action.smtp.port" -> "action.smtp" -> "action"); else to the banner.
import { useRef, useState } from 'preact/hooks';
import { ApiError, errorText } from '../lib/api.js';

let seq = 0;

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

/** values[name], or the value at the dotted path name ("action.port" -> values.action.port). */
export function getPath(values, name) {
  if (!values) return undefined;
  if (name in values) return values[name];
  let v = values;
  for (const part of name.split('.')) {
    if (!isObj(v) || !(part in v)) return undefined;
    v = v[part];
  }
  return v;
}

function setPath(values, name, value) {
  if (name in values || !name.includes('.')) return { ...values, [name]: value };
  const [first, ...rest] = name.split('.');
  return { ...values, [first]: setPath(isObj(values[first]) ? values[first] : {}, rest.join('.'), value) };
}

/** The API's field name -> the form's (null: the banner): the mapping's name for it, else the name itself, else its
 * nearest parent that is a field ("tags[3]" -> "tags"). A mapped name is trusted (after trying its parents). */
function fieldOf(apiField, values, el, map) {
  const named = el && el.querySelectorAll ? [...el.querySelectorAll('[name]')].map((x) => x.name) : [];
  const known = (n) => getPath(values, n) !== undefined || named.includes(n);
  const walk = (start) => {
    for (let n = start; n;) {
      if (known(n)) return n;
      const parent = n.replace(/(\[\d+\]|\.[^.[\]]*)$/, '');
      if (parent === n) break;
      n = parent;
    }
    return null;
  };
  const mapped = map ? (typeof map === 'function' ? map(apiField) : map[apiField]) : null;
  return mapped ? walk(mapped) || mapped : walk(apiField);
}

export function useForm(initial, opts = {}) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const form = {
    values,
    errors,
    formError,
    busy,
    get: (name) => getPath(values, name),
    set: (name, v) => {
      setValues((vs) => setPath(vs, name, v));
      if (errors[name]) setErrors((e) => ({ ...e, [name]: null }));
    },
    reset: (v = initial) => {
      setValues(v);
      setErrors({});
      setFormError(null);
    },
    setErrors,
    handle: (action, hopts = {}) => async (ev) => {
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
        const name = err instanceof ApiError && err.status === 400 && err.field
          ? fieldOf(err.field, values, el, hopts.fields || opts.fields) : null;
        if (name) setErrors({ [name]: err.message });
        else setFormError(err);
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
      <input id={id} name={name} type={type} required={required} value={form.get(name) ?? ''}
        onInput={(e) => form.set(name, e.currentTarget.value)} {...aria(id, hint, error)} {...rest} />
    </FieldShell>
  );
}

export function TextArea({ form, name, label, hint, required, ...rest }) {
  const id = useId(`f-${name}`);
  const error = form.errors[name];
  return (
    <FieldShell id={id} label={label} hint={hint} error={error} required={required}>
      <textarea id={id} name={name} required={required} value={form.get(name) ?? ''}
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
      <select id={id} name={name} required={required} value={form.get(name) ?? ''}
        onChange={(e) => form.set(name, e.currentTarget.value)} {...aria(id, hint, error)} {...rest}>
        {options.map((o) => <option key={o.value} value={o.value} disabled={o.disabled}>{o.label}</option>)}
      </select>
    </FieldShell>
  );
}
