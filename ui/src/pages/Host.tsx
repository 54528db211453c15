// One host: its state, the locks it holds, its history across locks; operators bar and unbar
// it (a barred host is refused every acquire), admins delete it.
import {
  Alert,
  Breadcrumb,
  BreadcrumbItem,
  Button,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  FlexItem,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, explain, type Host, type LockEvent, type Page } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { EventTable, filterLocally, type EventFilters } from '../components/Events';
import { Time } from '../components/Time';
import { useLive } from '../live';
import { useCan } from '../session';
import { intParam, useUrlState } from '../url-state';
import { HostState } from './Hosts';

export function HostPage() {
  const name = useParams().name!;
  const navigate = useNavigate();
  const operator = useCan('operator');
  const admin = useCan('admin');
  const [url, setUrl] = useUrlState({ type: '', host: '', page: '1' });
  const [actionError, setActionError] = useState<string>();
  const path = `/api/hosts/${encodeURIComponent(name)}`;
  const mine = (e: { host: { name: string } | null }) => e.host?.name === name;
  const host = useLive(`host ${name}`, () => api<Host>('GET', path), mine);
  const events = useLive(`host events ${name}`, () => api<Page<LockEvent>>('GET', `${path}/events`), mine);
  const h = host.data;

  const act = async (method: string, body?: unknown) => {
    setActionError(undefined);
    try {
      await api(method, path, body);
      return true;
    } catch (err) {
      setActionError(explain(err));
      return false;
    }
  };

  return (
    <PageSection>
      <Breadcrumb>
        <BreadcrumbItem render={() => <Link to="/hosts">Hosts</Link>} />
        <BreadcrumbItem isActive>{name}</BreadcrumbItem>
      </Breadcrumb>
      {host.notFound && <Alert variant="warning" isInline title="This host does not exist (any more)" />}
      {host.error && !host.notFound && <Alert variant="danger" isInline title={host.error} />}
      {h && !host.notFound && (
        <>
          <Title headingLevel="h1" className="kh-name">
            {h.name}
          </Title>
          <HostState host={h} />
          <DescriptionList isCompact isHorizontal>
            <Item term="Last check-in">
              <Time value={h.last_checkin_at} />
            </Item>
            <Item term="May acquire locks">{h.can_acquire_locks ? 'yes' : 'no (barred)'}</Item>
            <Item term="Known since">
              <Time value={h.created_at} />
            </Item>
          </DescriptionList>
          {operator && (
            <Flex spaceItems={{ default: 'spaceItemsSm' }} data-testid="host-actions">
              <FlexItem>
                {h.can_acquire_locks ? (
                  <ConfirmButton
                    label="Bar"
                    variant="warning"
                    title={`Bar ${h.name}?`}
                    onConfirm={async () => {
                      if (await act('PUT', { can_acquire_locks: false })) host.reload();
                    }}
                  >
                    {h.name} is refused every new acquire (412) until it is unbarred. Locks it holds stay
                    held.
                  </ConfirmButton>
                ) : (
                  <Button
                    variant="secondary"
                    onClick={async () => {
                      if (await act('PUT', { can_acquire_locks: true })) host.reload();
                    }}
                  >
                    Unbar
                  </Button>
                )}
              </FlexItem>
              {admin && (
                <FlexItem>
                  <ConfirmButton
                    label="Delete"
                    title={`Delete ${h.name}?`}
                    onConfirm={async () => {
                      if (await act('DELETE')) navigate('/hosts');
                    }}
                  >
                    The host is forgotten. If it asks for a lock again it is registered anew (when hosts
                    register themselves).
                  </ConfirmButton>
                </FlexItem>
              )}
            </Flex>
          )}
          {actionError && <Alert variant="danger" isInline title={actionError} data-testid="action-error" />}
          <Title headingLevel="h2">Locks held</Title>
          {h.locks.length === 0 ? (
            <p>None.</p>
          ) : (
            <Table aria-label="Locks held" variant="compact" gridBreakPoint="grid-md">
              <Thead>
                <Tr>
                  <Th>Lock</Th>
                  <Th>Acquired</Th>
                </Tr>
              </Thead>
              <Tbody>
                {h.locks.map((l) => (
                  <Tr key={l.id}>
                    <Td dataLabel="Lock">
                      <Link to={`/locks/${l.id}`} className="kh-name">
                        {l.name}
                      </Link>
                    </Td>
                    <Td dataLabel="Acquired">
                      <Time value={l.acquired_at} />
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
          <Title headingLevel="h2">History</Title>
          {events.data && (
            <HostHistory
              page={events.data}
              filters={{ type: url.type, host: url.host, page: intParam(url.page, 1) }}
              onFilters={(f) => setUrl({ type: f.type, host: f.host, page: String(f.page) })}
            />
          )}
        </>
      )}
    </PageSection>
  );
}

/** The host's newest events (one bounded read), filtered and paged here. */
function HostHistory({
  page,
  filters,
  onFilters,
}: {
  page: Page<LockEvent>;
  filters: EventFilters;
  onFilters(next: EventFilters): void;
}) {
  const { rows, count } = filterLocally(page.results, filters);
  return (
    <EventTable
      rows={rows}
      count={count}
      showLock
      hostLabel="host or user"
      filters={filters}
      onFilters={onFilters}
      note={
        page.total > page.results.length
          ? `The newest ${page.results.length} of ${page.total} events.`
          : undefined
      }
    />
  );
}

function Item({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}
