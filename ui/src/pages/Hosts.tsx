// Hosts that take locks: last check-in, locks held, stale; searchable and paged like locks,
// with the state in the URL. Each name opens the host page.
import { Alert, Content, Label, LabelGroup, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router-dom';
import { api, query, type Host, type Page } from '../api';
import { ListPagination, ListToolbar, SearchError, type ListState } from '../components/ListToolbar';
import { StaleBadge } from '../components/LockStatus';
import { Time } from '../components/Time';
import { useLive } from '../live';
import { intParam, useUrlState } from '../url-state';

export function HostsPage() {
  const [url, setUrl] = useUrlState({ q: '', page: '1', per_page: '20' });
  const list: ListState = { search: url.q, page: intParam(url.page, 1), perPage: intParam(url.per_page, 20) };
  const setList = (next: ListState) =>
    setUrl({ q: next.search, page: String(next.page), per_page: String(next.perPage) });
  const path = `/api/hosts${query({ search: list.search, page: list.page, per_page: list.perPage })}`;
  const { data: answer, error } = useLive(path, () => api<Page<Host>>('GET', path));
  const searchError = error && /search/i.test(error) ? error : undefined;
  const data = searchError ? undefined : answer;

  return (
    <PageSection>
      <Title headingLevel="h1">Hosts</Title>
      <ListToolbar state={list} onChange={setList} count={data?.subtotal ?? 0} placeholder="stale = true" />
      {searchError && <SearchError search={url.q} message={searchError} />}
      {error && !searchError && <Alert variant="danger" isInline title={error} data-testid="list-error" />}
      <Table aria-label="Hosts" variant="compact" gridBreakPoint="grid-md" className="kh-dense">
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
              <Td dataLabel="Name">
                <Link to={`/hosts/${encodeURIComponent(host.name)}`} className="kh-name">
                  {host.name}
                </Link>
              </Td>
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
                <HostState host={host} />
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      {data && data.results.length === 0 && <Content component="p">No hosts match.</Content>}
      {data && data.subtotal > list.perPage && (
        <ListPagination state={list} onChange={setList} count={data.subtotal} bottom />
      )}
    </PageSection>
  );
}

export function HostState({ host }: { host: Host }) {
  return (
    <LabelGroup>
      {host.stale && <StaleBadge />}
      {!host.can_acquire_locks && (
        <Label color="red" data-testid="barred">
          barred
        </Label>
      )}
      {!host.stale && host.can_acquire_locks && <Label color="green">ok</Label>}
    </LabelGroup>
  );
}
