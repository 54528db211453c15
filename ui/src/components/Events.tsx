// A lock's (or host's) event timeline: newest first, filterable by type and host, paged.
// The API pages events but cannot filter them, so the newest 1000 are read and filtered here.
import {
  FormSelect,
  FormSelectOption,
  Pagination,
  TextInput,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { LockEvent } from '../api';
import { Time } from './Time';

export const EVENT_WINDOW = 1000;
const PER_PAGE = 20;

/** Who did it, in words: a force release names the operator and the host it took the lock from. */
export function actorText(e: LockEvent): string {
  const user = e.user?.login;
  const host = e.host?.name;
  if (user && host && e.event_type === 'force_release') return `${user} released ${host}`;
  return user ?? host ?? '—';
}

interface Props {
  events: LockEvent[];
  total: number;
  /** show the lock column (a host's history spans locks) */
  showLock?: boolean;
  /** filters in the URL: the page keeps them */
  filters: { type: string; host: string; page: number };
  onFilters(next: { type: string; host: string; page: number }): void;
}

export function EventTable({ events, total, showLock = false, filters, onFilters }: Props) {
  const [hostText, setHostText] = useState(filters.host);
  const types = [...new Set(events.map((e) => e.event_type))].sort();
  const shown = events.filter(
    (e) =>
      (!filters.type || e.event_type === filters.type) &&
      (!filters.host ||
        (e.host?.name ?? '').includes(filters.host) ||
        (e.user?.login ?? '').includes(filters.host)),
  );
  const page = Math.min(filters.page, Math.max(1, Math.ceil(shown.length / PER_PAGE)));
  const rows = shown.slice((page - 1) * PER_PAGE, page * PER_PAGE);
  return (
    <>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <FormSelect
              aria-label="Event type"
              id="event-type"
              value={filters.type}
              onChange={(_e, type) => onFilters({ ...filters, type, page: 1 })}
            >
              <FormSelectOption value="" label="All events" />
              {types.map((t) => (
                <FormSelectOption key={t} value={t} label={t} />
              ))}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <TextInput
              aria-label="Host or user"
              id="event-host"
              placeholder="host or user"
              value={hostText}
              onChange={(_e, v) => {
                setHostText(v);
                onFilters({ ...filters, host: v, page: 1 });
              }}
            />
          </ToolbarItem>
          <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
            <Pagination
              itemCount={shown.length}
              page={page}
              perPage={PER_PAGE}
              perPageOptions={[]}
              onSetPage={(_e, p) => onFilters({ ...filters, page: p })}
              isCompact
              data-testid="event-pagination"
            />
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {total > events.length && (
        <p className="kh-note">
          The newest {events.length} of {total} events.
        </p>
      )}
      <Table aria-label="Events" variant="compact" gridBreakPoint="grid-md" className="kh-dense">
        <Thead>
          <Tr>
            <Th>When</Th>
            {showLock && <Th>Lock</Th>}
            <Th>Event</Th>
            <Th>By</Th>
            <Th>Detail</Th>
          </Tr>
        </Thead>
        <Tbody>
          {rows.map((e) => (
            <Tr key={e.id} data-testid="event">
              <Td dataLabel="When">
                <Time value={e.created_at} />
              </Td>
              {showLock && (
                <Td dataLabel="Lock">
                  {e.lock?.id ? <Link to={`/locks/${e.lock.id}`}>{e.lock.name}</Link> : e.lock?.name}
                </Td>
              )}
              <Td dataLabel="Event">{e.event_type}</Td>
              <Td dataLabel="By" data-testid="event-actor">
                {actorText(e)}
              </Td>
              <Td dataLabel="Detail" data-testid="event-detail">
                {e.detail ?? ''}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      {rows.length === 0 && <p>No events match.</p>}
    </>
  );
}
