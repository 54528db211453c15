// Hosts that take locks: last check-in, locks held, stale; searchable and paged like locks.
import { Alert, Content, Label, LabelGroup, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, query, type Host, type Page } from '../api';
import { ListToolbar, type ListState } from '../components/ListToolbar';
import { StaleBadge } from '../components/LockStatus';
import { Time } from '../components/Time';
import { usePoll } from '../poll';

export function HostsPage() {
  const [list, setList] = useState<ListState>({ search: '', page: 1, perPage: 20 });
  const path = `/api/hosts${query({ search: list.search, page: list.page, per_page: list.perPage })}`;
  const { data, error } = usePoll(path, () => api<Page<Host>>('GET', path));

  return (
    <PageSection>
      <Title headingLevel="h1">Hosts</Title>
      <ListToolbar state={list} onChange={setList} count={data?.subtotal ?? 0} placeholder="stale = true" />
      {error && <Alert variant="danger" isInline title={error} data-testid="list-error" />}
      <Table aria-label="Hosts" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th>Name</Th>
            <Th>Last check-in</Th>
            <Th>Locks held</Th>
            <Th>State</Th>
          </Tr>
        </Thead>
        <Tbody>
          {data?.results.map((host) => (
            <Tr key={host.id} data-testid={`host-row-${host.name}`}>
              <Td dataLabel="Name">{host.name}</Td>
              <Td dataLabel="Last check-in">
                <Time value={host.last_checkin_at} />
              </Td>
              <Td dataLabel="Locks held" data-testid="host-locks">
                {host.locks.length === 0
                  ? '—'
                  : host.locks.map((l, i) => (
                      <span key={l.id}>
                        {i > 0 && ', '}
                        <Link to={`/locks/${l.id}`}>{l.name}</Link>
                      </span>
                    ))}
              </Td>
              <Td dataLabel="State">
                <LabelGroup>
                  {host.stale && <StaleBadge />}
                  {!host.can_acquire_locks && <Label color="red">barred</Label>}
                  {!host.stale && host.can_acquire_locks && <Label color="green">ok</Label>}
                </LabelGroup>
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      {data && data.results.length === 0 && <Content component="p">No hosts match.</Content>}
    </PageSection>
  );
}
