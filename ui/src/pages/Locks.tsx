// The locks list as an on-call overview: counters that filter, stale and long-held locks first,
// how long each has been held; searchable with the API's syntax, sortable, paged, all in the
// URL; refreshed by the live event stream.
import { Alert, Button, Content, Label, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { Link } from 'react-router-dom';
import { api, query, type Lock, type Page } from '../api';
import { CreateLockButton } from '../components/LockForm';
import { ListPagination, ListToolbar, SearchError, type ListState } from '../components/ListToolbar';
import { LockStatus } from '../components/LockStatus';
import {
  ActivityChart,
  Counters,
  FILTER_SEARCH,
  type LockFilterName,
  type OverviewData,
} from '../components/Overview';
import { Time } from '../components/Time';
import { useLive } from '../live';
import { intParam, useUrlState } from '../url-state';

export const DEFAULT_LOCK_TYPE = 'ForemanDlm::Dlmlock::Update';

// columns the API can order by (`order=field ASC|DESC`)
const SORTABLE = { name: 0, held_since: 2, enabled: 3, updated_at: 4 } as const;
type SortField = keyof typeof SORTABLE;

const DEFAULTS = { q: '', filter: '', order: 'held_since', dir: 'asc', page: '1', per_page: '20' };

/** The user's search combined with a counter's filter; positions in errors refer to `search`. */
function combined(search: string, filter: string): { text: string; shift: number } {
  const clause = FILTER_SEARCH[filter as LockFilterName];
  if (!clause) return { text: search, shift: 0 };
  if (!search.trim()) return { text: clause, shift: 0 };
  return { text: `(${search}) and ${clause}`, shift: 1 };
}

export function LocksPage() {
  const [url, setUrl] = useUrlState(DEFAULTS);
  const order = (url.order in SORTABLE ? url.order : 'held_since') as SortField;
  const dir = url.dir === 'desc' ? 'desc' : 'asc';
  const list: ListState = { search: url.q, page: intParam(url.page, 1), perPage: intParam(url.per_page, 20) };
  const search = combined(url.q, url.filter);
  const path = `/api/dlmlocks${query({
    search: search.text,
    order: `${order} ${dir.toUpperCase()}`,
    page: list.page,
    per_page: list.perPage,
  })}`;
  const locks = useLive(path, () => api<Page<Lock>>('GET', path));
  const overview = useLive('overview', () => api<OverviewData>('GET', '/api/overview?days=3'));
  const searchError =
    locks.error && /search/i.test(locks.error) ? shiftPosition(locks.error, search.shift) : undefined;
  const data = searchError ? undefined : locks.data;

  const setList = (next: ListState) =>
    setUrl({ q: next.search, page: String(next.page), per_page: String(next.perPage) });
  const sortBy = (field: SortField): ThProps['sort'] => ({
    sortBy: { index: SORTABLE[order], direction: dir },
    onSort: (_e, _i, d) => setUrl({ order: field, dir: d, page: '1' }),
    columnIndex: SORTABLE[field],
  });

  return (
    <PageSection>
      <div className="kh-heading">
        <Title headingLevel="h1">Locks</Title>
        <CreateLockButton />
      </div>
      <Counters
        data={overview.data}
        filter={url.filter}
        onFilter={(filter) => setUrl({ filter, page: '1' })}
      />
      {overview.data && <ActivityChart activity={overview.data.activity} />}
      <ListToolbar
        state={list}
        onChange={setList}
        count={data?.subtotal ?? 0}
        placeholder="name ~ web and locked = true"
      />
      {url.filter && (
        <Alert
          variant="info"
          isInline
          isPlain
          title={`Showing ${url.filter} locks only`}
          actionLinks={
            <Button variant="link" isInline onClick={() => setUrl({ filter: '', page: '1' })}>
              Show all
            </Button>
          }
        />
      )}
      {searchError && <SearchError search={url.q} message={searchError} />}
      {locks.error && !searchError && (
        <Alert variant="danger" isInline title={locks.error} data-testid="list-error" />
      )}
      <Table aria-label="Locks" variant="compact" gridBreakPoint="grid-md" className="kh-dense">
        <Thead>
          <Tr>
            <Th sort={sortBy('name')}>Name</Th>
            <Th>Holders</Th>
            <Th sort={sortBy('held_since')}>Held since</Th>
            <Th sort={sortBy('enabled')}>State</Th>
            <Th sort={sortBy('updated_at')}>Updated</Th>
          </Tr>
        </Thead>
        <Tbody>
          {data?.results.map((lock) => (
            <Tr key={lock.id} data-testid={`lock-row-${lock.name}`}>
              <Td dataLabel="Name">
                <Link to={`/locks/${lock.id}`} className="kh-name">
                  {lock.name}
                </Link>
                {lock.type !== DEFAULT_LOCK_TYPE && (
                  <Label isCompact className="kh-type" data-testid="lock-type">
                    {lock.type}
                  </Label>
                )}
              </Td>
              <Td dataLabel="Holders" data-testid="holders">
                {lock.holders.length ? lock.holders.map((h) => h.name).join(', ') : '—'}
              </Td>
              <Td dataLabel="Held since" data-testid="held-since">
                <Time value={heldSince(lock)} never="—" />
              </Td>
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
      {data && data.subtotal > list.perPage && (
        <ListPagination state={list} onChange={setList} count={data.subtotal} bottom />
      )}
    </PageSection>
  );
}

/** The oldest holder's acquisition: how long the lock has been taken. */
function heldSince(lock: Lock): string | null {
  return lock.holders.reduce<string | null>(
    (min, h) => (min === null || h.acquired_at < min ? h.acquired_at : min),
    null,
  );
}

function shiftPosition(message: string, shift: number): string {
  if (!shift) return message;
  return message.replace(
    /at position (\d+)/,
    (_m, n: string) => `at position ${Math.max(1, Number(n) - shift)}`,
  );
}
