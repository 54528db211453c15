// One lock: its settings, holders, actions and event timeline, refreshed by the live stream
// whenever an event of this lock arrives. A lock that is gone (404) says so and stops asking.
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
import { api, lockPath, query, type Lock, type LockEvent, type Page, type Window } from '../api';
import { EVENTS_PER_PAGE, EventTable, type EventFilters } from '../components/Events';
import { GateTable } from '../components/Gates';
import { LockActions } from '../components/LockActions';
import { LockStatus } from '../components/LockStatus';
import { Time } from '../components/Time';
import { duration, parseApiTime, seconds } from '../format';
import { useLive } from '../live';
import { intParam, useUrlState } from '../url-state';

export function LockPage() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const [url, setUrl] = useUrlState({ type: '', host: '', page: '1' });
  const lock = useLive(
    `lock ${id}`,
    () => api<Lock>('GET', lockPath(id)),
    (e) => e.lock.id === Number(id) || e.lock.name === id,
  );
  const eventFilters: EventFilters = { type: url.type, host: url.host, page: intParam(url.page, 1) };
  // filtered and paged by the API: one page of events, however many the lock has
  const eventsPath = `${lockPath(id)}/dlmlock_events${query({
    type: eventFilters.type,
    host: eventFilters.host,
    page: eventFilters.page,
    per_page: EVENTS_PER_PAGE,
  })}`;
  const events = useLive(
    eventsPath,
    () => api<Page<LockEvent>>('GET', eventsPath),
    (e) => e.lock.id === Number(id) || e.lock.name === id,
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
      {lock.notFound && (
        <Alert variant="warning" isInline title="This lock does not exist (any more)" data-testid="not-found">
          <Link to="/locks">Back to the locks</Link>
        </Alert>
      )}
      {lock.error && !lock.notFound && <Alert variant="danger" isInline title={lock.error} />}
      {l && !lock.notFound && (
        <>
          <Title headingLevel="h1" className="kh-name">
            {l.name}
          </Title>
          <LockStatus lock={l} />
          <DescriptionList isCompact isHorizontal columnModifier={{ default: '1Col', lg: '2Col' }}>
            <Item term="Type">{l.type}</Item>
            <Item term="Holders allowed" testId="lock-max-holders">
              {typeof l.max_holders_rule === 'string'
                ? `${l.max_holders_rule} of ${l.members_count ?? 0} members = ${l.max_holders}`
                : l.max_holders}
            </Item>
            {l.members_count !== undefined && l.members_count !== null && (
              <Item term="Members" testId="lock-members">
                {l.members_count} (hosts that took it within {l.members_days ?? 30} days, and those added)
              </Item>
            )}
            {l.parent !== undefined && (
              <Item term="Parent" testId="lock-parent">
                {l.parent ? (
                  <Link to={`/locks/${encodeURIComponent(l.parent)}`} className="kh-name">
                    {l.parent}
                  </Link>
                ) : (
                  'none'
                )}
              </Item>
            )}
            {l.children && l.children.length > 0 && (
              <Item term="Children" testId="lock-children">
                <ul className="kh-tree">
                  {l.children.map((c) => (
                    <li key={c}>
                      <Link to={`/locks/${encodeURIComponent(c)}`} className="kh-name">
                        {c}
                      </Link>
                    </li>
                  ))}
                </ul>
              </Item>
            )}
            <Item term="Lease">{l.lease_seconds === null ? 'none' : seconds(l.lease_seconds)}</Item>
            <Item term="Fencing token" testId="lock-fencing-token">
              {l.fencing_counter ?? l.fencing_token ?? '—'}
            </Item>
            <Item term="Windows" testId="lock-windows">
              {l.windows && l.windows.length > 0 ? l.windows.map(windowText).join('; ') : 'always open'}
            </Item>
            {l.blackouts && l.blackouts.length > 0 && (
              <Item term="Blackouts" testId="lock-blackouts">
                {l.blackouts
                  .map((b) => `${b.from} to ${b.to} (${b.time_zone})${b.reason ? `: ${b.reason}` : ''}`)
                  .join('; ')}
              </Item>
            )}
            {l.paused_until && (
              <Item term="Paused until" testId="lock-paused">
                <Time value={l.paused_until} />
                {l.pause_reason ? ` — ${l.pause_reason}` : ''}
              </Item>
            )}
            {((l.windows && l.windows.length > 0) ||
              (l.blackouts && l.blackouts.length > 0) ||
              !!l.paused_until) && (
              <Item term="Next window opens" testId="next-window">
                <Time value={l.next_window_at} never="nothing opens within a year" />
              </Item>
            )}
            <Item term="Created">
              <Time value={l.created_at} />
            </Item>
            <Item term="Updated">
              <Time value={l.updated_at} />
            </Item>
          </DescriptionList>
          <LockActions lock={l} onChanged={reload} onDeleted={() => navigate('/locks')} />
          {l.gates && (
            <>
              <Title headingLevel="h2">Gates</Title>
              <GateTable gates={l.gates} status={l.gate_status} />
            </>
          )}
          <Title headingLevel="h2">Holders</Title>
          {l.holders.length === 0 ? (
            <p>Nobody holds this lock.</p>
          ) : (
            <Table aria-label="Holders" variant="compact" gridBreakPoint="grid-md">
              <Thead>
                <Tr>
                  <Th>Host</Th>
                  <Th>Acquired</Th>
                  <Th>Held for</Th>
                  <Th>Fencing token</Th>
                  <Th>Lease ends</Th>
                </Tr>
              </Thead>
              <Tbody>
                {l.holders.map((h) => (
                  <Tr key={h.name} data-testid="holder">
                    <Td dataLabel="Host">
                      <Link to={`/hosts/${encodeURIComponent(h.name)}`} className="kh-name">
                        {h.name}
                      </Link>
                    </Td>
                    <Td dataLabel="Acquired">
                      <Time value={h.acquired_at} />
                    </Td>
                    <Td dataLabel="Held for">
                      {duration(Date.now() - parseApiTime(h.acquired_at).getTime())}
                    </Td>
                    <Td dataLabel="Fencing token">{h.fencing_token}</Td>
                    <Td dataLabel="Lease ends" data-testid="lease-ends">
                      {h.expires_at ? <Time value={h.expires_at} /> : 'no lease'}
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
        </>
      )}
      {!lock.notFound && (
        <>
          <Title headingLevel="h2">Events</Title>
          {events.error && <Alert variant="danger" isInline title={events.error} />}
          {events.data && (
            <EventTable
              rows={events.data.results}
              count={events.data.subtotal}
              hostLabel="host name"
              filters={eventFilters}
              onFilters={(f) => setUrl({ type: f.type, host: f.host, page: String(f.page) })}
            />
          )}
        </>
      )}
    </PageSection>
  );
}

const NTH: Record<number, string> = { 1: '1st', 2: '2nd', 3: '3rd', 4: '4th', [-1]: 'last' };

export function windowText(w: Window): string {
  const when = w.days
    ? w.days.join(', ')
    : w.nth_weekday
      ? `${NTH[w.nth_weekday.nth] ?? w.nth_weekday.nth} ${w.nth_weekday.day} of the month`
      : `day ${(w.days_of_month ?? []).join(', ')} of the month`;
  return `${when} ${w.start} for ${duration(w.duration_minutes * 60_000)} (${w.time_zone})`;
}

function Item({ term, children, testId }: { term: string; children: React.ReactNode; testId?: string }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription data-testid={testId}>{children}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}
