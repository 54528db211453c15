// The locks list: who holds what, searchable with the API's syntax, sortable, paged, polled.
import { Alert, Content, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, query, type Lock, type Page } from '../api';
import { ListToolbar, type ListState } from '../components/ListToolbar';
import { LockStatus } from '../components/LockStatus';
import { Time } from '../components/Time';
import { usePoll } from '../poll';

// columns the API can order by (`order=field ASC|DESC`); holders are not among them
const SORTABLE = { name: 0, type: 2, enabled: 3, updated_at: 4 } as const;
type SortField = keyof typeof SORTABLE;

export function LocksPage() {
  const [list, setList] = useState<ListState>({ search: '', page: 1, perPage: 20 });
  const [sort, setSort] = useState<{ by: SortField; dir: 'asc' | 'desc' }>({ by: 'name', dir: 'asc' });
  const path = `/api/dlmlocks${query({
    search: list.search,
    order: `${sort.by} ${sort.dir.toUpperCase()}`,
    page: list.page,
    per_page: list.perPage,
  })}`;
  const { data, error } = usePoll(path, () => api<Page<Lock>>('GET', path));

  const sortBy = (field: SortField): ThProps['sort'] => ({
    sortBy: { index: SORTABLE[sort.by], direction: sort.dir },
    onSort: (_e, _i, dir) => setSort({ by: field, dir }),
    columnIndex: SORTABLE[field],
  });

  return (
    <PageSection>
      <Title headingLevel="h1">Locks</Title>
      <ListToolbar
        state={list}
        onChange={setList}
        count={data?.subtotal ?? 0}
        placeholder="name ~ web and locked = true"
      />
      {error && <Alert variant="danger" isInline title={error} data-testid="list-error" />}
      <Table aria-label="Locks" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th sort={sortBy('name')}>Name</Th>
            <Th>Holders</Th>
            <Th sort={sortBy('type')}>Type</Th>
            <Th sort={sortBy('enabled')}>State</Th>
            <Th sort={sortBy('updated_at')}>Updated</Th>
          </Tr>
        </Thead>
        <Tbody>
          {data?.results.map((lock) => (
            <Tr key={lock.id} data-testid={`lock-row-${lock.name}`}>
              <Td dataLabel="Name">
                <Link to={`/locks/${lock.id}`}>{lock.name}</Link>
              </Td>
              <Td dataLabel="Holders" data-testid="holders">
                {lock.holders.length ? lock.holders.map((h) => h.name).join(', ') : '—'}
              </Td>
              <Td dataLabel="Type">{lock.type}</Td>
              <Td dataLabel="State">
                <LockStatus lock={lock} />
              </Td>
              <Td dataLabel="Updated">
                <Time value={lock.updated_at} />
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      {data && data.results.length === 0 && <Content component="p">No locks match.</Content>}
    </PageSection>
  );
}
