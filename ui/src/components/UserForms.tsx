// Admin forms for users: create one, reset a password; and everyone's own password change.
import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  TextInput,
} from '@patternfly/react-core';
import { useState, type FormEvent } from 'react';
import { api, explain, type Role } from '../api';

export const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export function CreateUserForm({ onCreated }: { onCreated(): void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api('POST', '/api/users', { login, password, role });
      setLogin('');
      setPassword('');
      onCreated();
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <Form isHorizontal onSubmit={(e) => void submit(e)} className="kh-inline-form" data-testid="create-user">
      <FormGroup label="Login" fieldId="new-user-login" isRequired>
        <TextInput id="new-user-login" value={login} onChange={(_e, v) => setLogin(v)} isRequired />
      </FormGroup>
      <FormGroup label="Password" fieldId="new-user-password" isRequired>
        <TextInput
          id="new-user-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(_e, v) => setPassword(v)}
          isRequired
        />
      </FormGroup>
      <FormGroup label="Role" fieldId="new-user-role">
        <FormSelect id="new-user-role" value={role} onChange={(_e, v) => setRole(v as Role)}>
          {ROLES.map((r) => (
            <FormSelectOption key={r} value={r} label={r} />
          ))}
        </FormSelect>
      </FormGroup>
      {error && <Alert variant="danger" isInline title={error} data-testid="user-error" />}
      <ActionGroup>
        <Button type="submit">Create user</Button>
      </ActionGroup>
    </Form>
  );
}

/** PUT /api/session/password; the server ends every session of the user, so it logs in again. */
export function OwnPasswordForm({ onChanged }: { onChanged(): void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api('PUT', '/api/session/password', { current_password: current, password: next });
      onChanged();
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <Form onSubmit={(e) => void submit(e)} data-testid="own-password" className="kh-narrow-form">
      <FormGroup label="Current password" fieldId="current-password" isRequired>
        <TextInput
          id="current-password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(_e, v) => setCurrent(v)}
        />
      </FormGroup>
      <FormGroup label="New password" fieldId="new-password" isRequired>
        <TextInput
          id="new-password"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(_e, v) => setNext(v)}
        />
      </FormGroup>
      {error && <Alert variant="danger" isInline title={error} data-testid="password-error" />}
      <ActionGroup>
        <Button type="submit">Change password</Button>
      </ActionGroup>
    </Form>
  );
}
