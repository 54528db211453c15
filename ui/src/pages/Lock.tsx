// One lock: its settings, holders, actions and event timeline, polled.
import {
  Alert,
  Breadcrumb,
  BreadcrumbItem,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, lockPath, type Lock, type LockEvent, type Page } from '../api';
import { LockActions } from '../components/LockActions';
import { LockStatus } from '../components/LockStatus';
import { Time } from '../components/Time';
import { usePoll } from '../poll';

export function LockPage() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const lock = usePoll(`lock ${id}`, () => api<Lock>('GET', lockPath(id)));
  const events = usePoll(`events ${id}`, () =>
    api<Page<LockEvent>>('GET', `${lockPath(id)}/dlmlock_events?per_page=50`),
  );
  const l = lock.data;
  const reload = () => {
    lock.reload();
    events.reload();
  };

  return (
    <PageSection>
      <Breadcrumb>
        <BreadcrumbItem render={() => <Link to="/locks">Locks</Link>} />
        <BreadcrumbItem isActive>{l?.name ?? id}</BreadcrumbItem>
      </Breadcrumb>
      {lock.error && <Alert variant="danger" isInline title={lock.error} />}
      {l && (
        <>
          <Title headingLevel="h1">{l.name}</Title>
          <LockStatus lock={l} />
          <DescriptionList isCompact isHorizontal columnModifier={{ default: '1Col', lg: '2Col' }}>
            <Item term="Type">{l.type}</Item>
            <Item term="Holders allowed">{l.max_holders}</Item>
            <Item term="Lease">{l.lease_seconds === null ? 'none' : `${l.lease_seconds} s`}</Item>
            <Item term="Fencing token">{l.fencing_token}</Item>
            <Item term="Created">
              <Time value={l.created_at} />
            </Item>
            <Item term="Updated">
              <Time value={l.updated_at} />
            </Item>
          </DescriptionList>
          <LockActions lock={l} onChanged={reload} onDeleted={() => navigate('/locks')} />
          <Title headingLevel="h2">Holders</Title>
          {l.holders.length === 0 ? (
            <p>Nobody holds this lock.</p>
          ) : (
            <Table aria-label="Holders" variant="compact" gridBreakPoint="grid-md">
              <Thead>
                <Tr>
                  <Th>Host</Th>
                  <Th>Acquired</Th>
                  <Th>Fencing token</Th>
                  <Th>Lease ends</Th>
                </Tr>
              </Thead>
              <Tbody>
                {l.holders.map((h) => (
                  <Tr key={h.name} data-testid="holder">
                    <Td dataLabel="Host">{h.name}</Td>
                    <Td dataLabel="Acquired">
                      <Time value={h.acquired_at} />
                    </Td>
                    <Td dataLabel="Fencing token">{h.fencing_token}</Td>
                    <Td dataLabel="Lease ends">
                      {h.expires_at ? <Time value={h.expires_at} /> : 'no lease'}
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
        </>
      )}
      <Title headingLevel="h2">Events</Title>
      {events.error && <Alert variant="danger" isInline title={events.error} />}
      <Table aria-label="Events" variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            <Th>When</Th>
            <Th>Event</Th>
            <Th>By</Th>
            <Th>Detail</Th>
          </Tr>
        </Thead>
        <Tbody>
          {events.data?.results.map((e) => (
            <Tr key={e.id} data-testid="event">
              <Td dataLabel="When">
                <Time value={e.created_at} />
              </Td>
              <Td dataLabel="Event">{e.event_type}</Td>
              <Td dataLabel="By">{e.host?.name ?? e.user?.login ?? '—'}</Td>
              <Td dataLabel="Detail">{e.detail ?? ''}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
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
