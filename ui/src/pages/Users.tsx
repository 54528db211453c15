// Admins only: users (create, change role, reset password, delete) and API tokens, which can
// be issued (the secret is shown once) and revoked.
import {
  Alert,
  ClipboardCopy,
  FormSelect,
  FormSelectOption,
  PageSection,
  TextInput,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { api, explain, type Page, type Role, type Token, type User } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Time } from '../components/Time';
import { TokenForm } from '../components/TokenForm';
import { CreateUserForm, ROLES } from '../components/UserForms';
import { useLive } from '../live';
import { useSession } from '../session';

const never = () => false;

export function UsersPage() {
  const { session } = useSession();
  // lock events say nothing about users and tokens: no live refresh, re-read after each action
  const users = useLive('users', () => api<Page<User>>('GET', '/api/users?per_page=1000'), never);
  const tokens = useLive('tokens', () => api<Page<Token>>('GET', '/api/tokens?per_page=1000'), never);
  const [resetting, setResetting] = useState<string>();
  const [newPassword, setNewPassword] = useState('');
  const [notice, setNotice] = useState<string>();
  const userAction = async (method: string, login: string, body?: unknown, done?: string) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await api(method, `/api/users/${encodeURIComponent(login)}`, body);
      if (done) setNotice(done);
    } catch (err) {
      setError(explain(err));
    }
    users.reload();
  };
  const [issued, setIssued] = useState<string>();
  const [error, setError] = useState<string>();

  const revoke = async (t: Token) => {
    setError(undefined);
    try {
      await api('DELETE', `/api/tokens/${t.id}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    tokens.reload();
  };

  return (
    <PageSection>
      <Title headingLevel="h1">Users</Title>
      {users.error && <Alert variant="danger" isInline title={users.error} />}
      {notice && <Alert variant="success" isInline isPlain title={notice} data-testid="user-notice" />}
      {error && <Alert variant="danger" isInline title={error} data-testid="user-error" />}
      <CreateUserForm onCreated={users.reload} />
      <Table aria-label="Users" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th>Login</Th>
            <Th>Role</Th>
            <Th>Created</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          {users.data?.results.map((u) => (
            <Tr key={u.id} data-testid={`user-row-${u.login}`}>
              <Td dataLabel="Login">{u.login}</Td>
              <Td dataLabel="Role">
                <FormSelect
                  id={`role-${u.login}`}
                  aria-label={`Role of ${u.login}`}
                  value={u.role}
                  isDisabled={u.login === session?.user.login}
                  onChange={(_e, role) =>
                    void userAction('PUT', u.login, { role: role as Role }, `${u.login} is now ${role}`)
                  }
                >
                  {ROLES.map((r) => (
                    <FormSelectOption key={r} value={r} label={r} />
                  ))}
                </FormSelect>
              </Td>
              <Td dataLabel="Created">
                <Time value={u.created_at} />
              </Td>
              <Td dataLabel="Actions" className="kh-actions">
                <ConfirmButton
                  label="Reset password"
                  variant="secondary"
                  title={`New password for ${u.login}`}
                  onConfirm={async () => {
                    await userAction(
                      'PUT',
                      u.login,
                      { password: newPassword },
                      `Password of ${u.login} reset`,
                    );
                    setNewPassword('');
                  }}
                  onOpen={() => setResetting(u.login)}
                >
                  {resetting === u.login && (
                    <TextInput
                      aria-label="New password"
                      id="reset-password"
                      type="password"
                      autoComplete="new-password"
                      value={newPassword}
                      onChange={(_e, v) => setNewPassword(v)}
                    />
                  )}
                  Their UI sessions end; tokens keep working.
                </ConfirmButton>
                {u.login !== session?.user.login && (
                  <ConfirmButton
                    label="Delete"
                    title={`Delete ${u.login}?`}
                    onConfirm={() => userAction('DELETE', u.login, undefined, `${u.login} deleted`)}
                  >
                    {u.login} can no longer log in; their tokens stop working.
                  </ConfirmButton>
                )}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>

      <Title headingLevel="h2">API tokens</Title>
      <TokenForm
        logins={users.data?.results.map((u) => u.login) ?? []}
        onIssued={(secret) => {
          setIssued(secret);
          tokens.reload();
        }}
      />
      {issued && (
        <Alert variant="success" isInline title="Token issued: copy it now, it is not shown again">
          <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" data-testid="issued-token">
            {issued}
          </ClipboardCopy>
        </Alert>
      )}
      {tokens.error && <Alert variant="danger" isInline title={tokens.error} />}
      <Table aria-label="Tokens" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th>Name</Th>
            <Th>User</Th>
            <Th>State</Th>
            <Th>Expires</Th>
            <Th>Last used</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          {tokens.data?.results.map((t) => (
            <Tr key={t.id} data-testid={`token-row-${t.name}`}>
              <Td dataLabel="Name">
                {t.name} <code>{t.prefix}…</code>
              </Td>
              <Td dataLabel="User">{t.user.login}</Td>
              <Td dataLabel="State" data-testid="token-state">
                {t.state}
              </Td>
              <Td dataLabel="Expires">{t.expires_at ? <Time value={t.expires_at} /> : 'never'}</Td>
              <Td dataLabel="Last used">
                <Time value={t.last_used_at} />
              </Td>
              <Td dataLabel="Actions">
                {t.state === 'active' && (
                  <ConfirmButton label="Revoke" title={`Revoke token ${t.name}?`} onConfirm={() => revoke(t)}>
                    Anything using this token is refused from now on.
                  </ConfirmButton>
                )}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}
