// Admins: the audit trail (logins, tokens, users, hosts, force releases), newest first,
// filtered by event type, actor and target, paged by the API; the filters live in the URL.
import {
  Alert,
  PageSection,
  TextInput,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useState } from 'react';
import { api, query, type Page } from '../api';
import { ListPagination } from '../components/ListToolbar';
import { Time } from '../components/Time';
import { useLive } from '../live';
import { intParam, useUrlState } from '../url-state';

interface AuditEntry {
  id: number;
  event_type: string;
  actor: { login: string } | null;
  target: string | null;
  detail: string | null;
  address: string | null;
  created_at: string;
}

const FILTERS = [
  { key: 'event_type', label: 'Event type', placeholder: 'e.g. login_failed' },
  { key: 'actor', label: 'Actor', placeholder: 'login' },
  { key: 'target', label: 'Target', placeholder: 'user or host' },
] as const;

export function AuditPage() {
  const [url, setUrl] = useUrlState({ event_type: '', actor: '', target: '', page: '1', per_page: '50' });
  const page = intParam(url.page, 1);
  const perPage = intParam(url.per_page, 50);
  const path = `/api/audit${query({
    event_type: url.event_type,
    actor: url.actor,
    target: url.target,
    page,
    per_page: perPage,
  })}`;
  const { data, error } = useLive(path, () => api<Page<AuditEntry>>('GET', path));

  return (
    <PageSection>
      <Title headingLevel="h1">Audit trail</Title>
      <Toolbar>
        <ToolbarContent>
          {FILTERS.map((f) => (
            <ToolbarItem key={f.key}>
              <FilterInput
                label={f.label}
                placeholder={f.placeholder}
                value={url[f.key]}
                onApply={(v) => setUrl({ [f.key]: v, page: '1' })}
              />
            </ToolbarItem>
          ))}
          <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
            <ListPagination
              state={{ search: '', page, perPage }}
              onChange={(s) => setUrl({ page: String(s.page), per_page: String(s.perPage) })}
              count={data?.subtotal ?? 0}
            />
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {error && <Alert variant="danger" isInline title={error} />}
      <Table aria-label="Audit trail" variant="compact" gridBreakPoint="grid-md" className="kh-dense">
        <Thead>
          <Tr>
            <Th>When</Th>
            <Th>Event</Th>
            <Th>Actor</Th>
            <Th>Target</Th>
            <Th>Detail</Th>
            <Th>From</Th>
          </Tr>
        </Thead>
        <Tbody>
          {data?.results.map((e) => (
            <Tr key={e.id} data-testid="audit-row">
              <Td dataLabel="When">
                <Time value={e.created_at} />
              </Td>
              <Td dataLabel="Event">{e.event_type}</Td>
              <Td dataLabel="Actor">{e.actor?.login ?? '—'}</Td>
              <Td dataLabel="Target">{e.target ?? '—'}</Td>
              <Td dataLabel="Detail">{e.detail ?? ''}</Td>
              <Td dataLabel="From">{e.address ?? ''}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}

/** Applied on Enter or when the field is left, so typing does not fire a request per key. */
function FilterInput(props: { label: string; placeholder: string; value: string; onApply(v: string): void }) {
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  return (
    <TextInput
      aria-label={props.label}
      placeholder={props.placeholder}
      value={text}
      onChange={(_e, v) => setText(v)}
      onBlur={() => text !== props.value && props.onApply(text)}
      onKeyDown={(e) => e.key === 'Enter' && props.onApply(text)}
    />
  );
}
