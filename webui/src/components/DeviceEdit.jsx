// The device edit dialog (roles with editInventory): the analyst's own fields (name, authorized, importance,
// description, tags) and overrides of what the sensors report (type, vendor, model, firmware, serial, OS, host
// name, FQDN, Purdue level). Only changed fields are sent (PATCH /devices/{id}); an emptied override is sent as
// null, which removes it so that the reported value shows again. A 400 shows under the field the server names.
//
//   {editing && <DeviceEdit device={d} onClose={...} onSaved={(d) => ...} />}
import { Button } from './Button.jsx';
import { Field, FormError, SelectField, TextArea, useForm } from './Form.jsx';
import { Modal } from './Modal.jsx';
import { DEVICE_TYPES, typeName } from './DeviceBits.jsx';
import { api } from '../lib/api.js';

export const OVERRIDE_FIELDS = [
  { key: 'type', label: 'Type' },
  { key: 'vendor', label: 'Vendor' },
  { key: 'model', label: 'Model' },
  { key: 'firmware', label: 'Firmware' },
  { key: 'serial', label: 'Serial number' },
  { key: 'os', label: 'Operating system' },
  { key: 'hostname', label: 'Host name' },
  { key: 'fqdn', label: 'FQDN' },
  { key: 'purdue_level', label: 'Purdue level' },
];

const str = (v) => (v === null || v === undefined ? '' : String(v));
const shown = (k, v) => (v === null || v === undefined || v === '' ? 'nothing' : k === 'type' ? typeName(v) : String(v));

function initialOf(d) {
  const ov = d.overrides || {};
  const v = {
    name: str(d.name),
    authorized: !!d.authorized,
    importance: str(d.importance),
    description: str(d.description),
    tags: (d.tags || []).join(', '),
  };
  for (const { key } of OVERRIDE_FIELDS) v[key] = str(ov[key]);
  return v;
}

/** The PATCH body: only what changed. */
function changes(init, v) {
  const body = {};
  if (v.name.trim() !== init.name) body.name = v.name.trim() || null;
  if (v.authorized !== init.authorized) body.authorized = v.authorized;
  if (v.importance !== init.importance) body.importance = v.importance || null;
  if (v.description !== init.description) body.description = v.description.trim() ? v.description : null;
  const tags = v.tags.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.join(', ') !== init.tags) body.tags = [...new Set(tags)];
  for (const { key } of OVERRIDE_FIELDS) {
    const now = v[key].trim();
    if (now === init[key]) continue;
    body[key] = now === '' ? null : key === 'purdue_level' ? Number(now) : now;
  }
  return body;
}

export function DeviceEdit({ device, onClose, onSaved }) {
  const init = initialOf(device);
  const form = useForm(init);
  const reported = device.reported || {};
  const submit = form.handle(async (v) => {
    const body = changes(init, v);
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    onSaved(await api.patch(`/devices/${device.id}`, body), Object.keys(body));
  });

  const overrideRow = ({ key, label }) => {
    const hint = `Reported by the sensors: ${shown(key, reported[key])}. Leave empty to use what they report.`;
    let input;
    if (key === 'type') {
      input = <SelectField form={form} name="type" label={label} hint={hint}
        options={[{ value: '', label: '(as reported)' }, ...DEVICE_TYPES.map((t) => ({ value: t, label: typeName(t) }))]} />;
    } else if (key === 'purdue_level') {
      input = <SelectField form={form} name="purdue_level" label={label} hint={hint}
        options={[{ value: '', label: '(as reported)' }, ...[0, 1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: `Level ${n}` }))]} />;
    } else {
      input = <Field form={form} name={key} label={label} hint={hint} maxLength={255} placeholder={str(reported[key])} />;
    }
    return (
      <div key={key} class="dev-override">
        {input}
        {form.values[key] !== '' && (
          <Button small variant="ghost" onClick={() => form.set(key, '')} aria-label={`Remove the ${label.toLowerCase()} override`}>
            Remove override
          </Button>
        )}
      </div>
    );
  };

  return (
    <Modal wide title="Edit device" onClose={onClose} onSubmit={submit}
      footer={<><Button onClick={onClose}>Cancel</Button><Button type="submit" variant="primary" loading={form.busy}>Save</Button></>}>
      <FormError form={form} />
      <div class="dev-edit-grid">
        <div>
          <Field form={form} name="name" label="Name" maxLength={200} placeholder={device.hostname || ''}
            hint="Empty: the host name or address is shown." />
          <label class="check dev-edit-check">
            <input type="checkbox" name="authorized" checked={form.values.authorized}
              onChange={(e) => form.set('authorized', e.currentTarget.checked)} />
            Authorized (expected on this network)
          </label>
          {form.errors.authorized && <div class="field-error">{form.errors.authorized}</div>}
          <SelectField form={form} name="importance" label="Importance"
            options={[{ value: '', label: '(none)' }, { value: 'high', label: 'High' }, { value: 'medium', label: 'Medium' }, { value: 'low', label: 'Low' }]} />
          <TextArea form={form} name="description" label="Description" maxLength={2000} />
          <Field form={form} name="tags" label="Tags" hint="Comma-separated, at most 32, each 1 to 64 characters." />
        </div>
        <fieldset class="plain-fieldset">
          <legend class="dev-edit-legend">Overrides of what the sensors report</legend>
          {OVERRIDE_FIELDS.map(overrideRow)}
        </fieldset>
      </div>
    </Modal>
  );
}
