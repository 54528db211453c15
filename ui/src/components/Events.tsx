// An event timeline: newest first, filterable by type and host, paged. A lock's events are
// filtered and paged by the API (`?type=&host=&page=`); a host's history (one bounded read of
// its newest events) is filtered here with the same controls (filterLocally).
import {
  Button,
  FormSelect,
  FormSelectOption,
  Pagination,
  TextInput,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import type { LockEvent } from '../api';
import { Time } from './Time';

export const EVENTS_PER_PAGE = 20;

/** The lock event types the API writes (and filters by: src/lock/event-types.ts). */
export const EVENT_TYPES = [
  'acquire',
  'release',
  'fail',
  'force_release',
  'expire',
  'stale',
  'gate',
  'enable',
  'disable',
  'create',
  'update',
  'delete',
];

/** Who did it, in words: a force release names the operator and the host it took the lock from. */
export function actorText(e: LockEvent): string {
  const user = e.user?.login;
  const host = e.host?.name;
  if (user && host && e.event_type === 'force_release') return `${user} released ${host}`;
  return user ?? host ?? '—';
}

export interface EventFilters {
  type: string;
  host: string;
  page: number;
}

/** One page of `events` after the filters, for a list read whole (a host's history). */
export function filterLocally(events: LockEvent[], f: EventFilters): { rows: LockEvent[]; count: number } {
  const shown = events.filter(
    (e) =>
      (!f.type || e.event_type === f.type) &&
      (!f.host || (e.host?.name ?? '').includes(f.host) || (e.user?.login ?? '').includes(f.host)),
  );
  const page = Math.min(f.page, Math.max(1, Math.ceil(shown.length / EVENTS_PER_PAGE)));
  return { rows: shown.slice((page - 1) * EVENTS_PER_PAGE, page * EVENTS_PER_PAGE), count: shown.length };
}

interface Props {
  /** the page to show, already filtered */
  rows: LockEvent[];
  /** how many events pass the filters */
  count: number;
  /** show the lock column (a host's history spans locks) */
  showLock?: boolean;
  /** what the host box matches, for its placeholder */
  hostLabel: string;
  /** filters in the URL: the page keeps them */
  filters: EventFilters;
  onFilters(next: EventFilters): void;
  note?: string;
}

export function EventTable({ rows, count, showLock = false, hostLabel, filters, onFilters, note }: Props) {
  const [hostText, setHostText] = useState(filters.host);
  // Back/Forward change the URL under the box
  useEffect(() => setHostText(filters.host), [filters.host]);
  const applyHost = () => {
    if (hostText.trim() !== filters.host) onFilters({ ...filters, host: hostText.trim(), page: 1 });
  };
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
              {EVENT_TYPES.map((t) => (
                <FormSelectOption key={t} value={t} label={t} />
              ))}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <form
              className="kh-inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                applyHost();
              }}
            >
              <TextInput
                aria-label={hostLabel}
                id="event-host"
                placeholder={hostLabel}
                value={hostText}
                onChange={(_e, v) => setHostText(v)}
                onBlur={applyHost}
              />
              <Button type="submit" variant="control">
                Filter
              </Button>
            </form>
          </ToolbarItem>
          <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
            <Pagination
              itemCount={count}
              page={filters.page}
              perPage={EVENTS_PER_PAGE}
              perPageOptions={[]}
              onSetPage={(_e, p) => onFilters({ ...filters, page: p })}
              isCompact
              data-testid="event-pagination"
            />
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {note && <p className="kh-note">{note}</p>}
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
              <Td dataLabel="Event" data-testid="event-type">
                {e.event_type}
              </Td>
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
