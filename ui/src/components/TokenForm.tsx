// Issue an API token for a user: POST /api/tokens; the answer's `token` is the only copy.
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
import { api } from '../api';

interface Props {
  logins: string[];
  onIssued(secret: string): void;
}

export function TokenForm({ logins, onIssued }: Props) {
  const [user, setUser] = useState('');
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [error, setError] = useState<string>();
  const login = user || logins[0] || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const body = { user: login, name, ...(days ? { expires_in_days: Number(days) } : {}) };
      const created = await api<{ token: string }>('POST', '/api/tokens', body);
      setName('');
      setDays('');
      onIssued(created.token);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <Form isHorizontal onSubmit={(e) => void submit(e)} maxWidth="40rem">
      <FormGroup label="User" fieldId="token-user">
        <FormSelect id="token-user" value={login} onChange={(_e, v) => setUser(v)}>
          {logins.map((l) => (
            <FormSelectOption key={l} value={l} label={l} />
          ))}
        </FormSelect>
      </FormGroup>
      <FormGroup label="Name" fieldId="token-name" isRequired>
        <TextInput id="token-name" isRequired value={name} onChange={(_e, v) => setName(v)} />
      </FormGroup>
      <FormGroup label="Expires in days" fieldId="token-days">
        <TextInput
          id="token-days"
          type="number"
          min={1}
          value={days}
          onChange={(_e, v) => setDays(v)}
          placeholder="never"
        />
      </FormGroup>
      {error && <Alert variant="danger" isInline title={error} />}
      <ActionGroup>
        <Button type="submit" variant="primary" isDisabled={!name || !login}>
          Issue token
        </Button>
      </ActionGroup>
    </Form>
  );
}
