// Admins only: users with their roles (read-only here; the API and CLI change them) and API
// tokens, which can be issued (the secret is shown once) and revoked.
import { Alert, ClipboardCopy, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { api, type Page, type Token, type User } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Time } from '../components/Time';
import { TokenForm } from '../components/TokenForm';
import { usePoll } from '../poll';

export function UsersPage() {
  const users = usePoll('users', () => api<Page<User>>('GET', '/api/users?per_page=1000'));
  const tokens = usePoll('tokens', () => api<Page<Token>>('GET', '/api/tokens?per_page=1000'));
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
      <Table aria-label="Users" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th>Login</Th>
            <Th>Role</Th>
            <Th>Created</Th>
          </Tr>
        </Thead>
        <Tbody>
          {users.data?.results.map((u) => (
            <Tr key={u.id} data-testid={`user-row-${u.login}`}>
              <Td dataLabel="Login">{u.login}</Td>
              <Td dataLabel="Role">{u.role}</Td>
              <Td dataLabel="Created">
                <Time value={u.created_at} />
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
      {(error ?? tokens.error) && <Alert variant="danger" isInline title={error ?? tokens.error} />}
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
