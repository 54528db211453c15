// The locks list as an on-call overview: counters that filter, stale and long-held locks first,
// how long each has been held; searchable with the API's syntax, sortable, paged, all in the
// URL; refreshed by the live event stream.
import { Alert, Button, Content, Label, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { Link } from 'react-router-dom';
import { api, type Lock, type Page } from '../api';
import { CreateLockButton } from '../components/LockForm';
import { ListPagination, ListToolbar, SearchError, type ListState } from '../components/ListToolbar';
import { LockStatus } from '../components/LockStatus';
import { ActivityChart, Counters, FILTER_LABEL, type OverviewData } from '../components/Overview';
import { peekEarly, takeEarly } from '../early';
import {
  LIST_DEFAULTS,
  OVERVIEW_PATH,
  SORTABLE,
  locksListPath,
  type LockFilterName,
  type SortField,
} from '../locks-query';
import { Time } from '../components/Time';
import { useLive } from '../live';
import { intParam, useUrlState } from '../url-state';

export const DEFAULT_LOCK_TYPE = 'ForemanDlm::Dlmlock::Update';

export function LocksPage() {
  const [url, setUrl] = useUrlState(LIST_DEFAULTS);
  const list: ListState = { search: url.q, page: intParam(url.page, 1), perPage: intParam(url.per_page, 20) };
  const { path, shift, order, dir } = locksListPath(url);
  // the first read may have started before this code loaded (early.ts)
  const locks = useLive(
    path,
    () => takeEarly<Page<Lock>>(path) ?? api<Page<Lock>>('GET', path),
    undefined,
    peekEarly<Page<Lock>>(path),
  );
  const overview = useLive(
    'overview',
    () => takeEarly<OverviewData>(OVERVIEW_PATH) ?? api<OverviewData>('GET', OVERVIEW_PATH),
    undefined,
    peekEarly<OverviewData>(OVERVIEW_PATH),
  );
  const searchError =
    locks.error && /search/i.test(locks.error) ? shiftPosition(locks.error, shift) : undefined;
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
          title={`Showing ${FILTER_LABEL[url.filter as LockFilterName] ?? url.filter} locks only`}
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
