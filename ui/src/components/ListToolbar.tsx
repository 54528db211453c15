// Search box (the API's own search syntax, applied on Enter) and pagination, shared by the
// lists. Pagination is also shown under the list, where a phone user's thumb is.
import { Pagination, SearchInput, Toolbar, ToolbarContent, ToolbarItem } from '@patternfly/react-core';
import { useEffect, useState } from 'react';

export interface ListState {
  search: string;
  page: number;
  perPage: number;
}

interface Props {
  state: ListState;
  onChange(next: ListState): void;
  /** the filtered count, from the answer's `subtotal` */
  count: number;
  placeholder: string;
}

const PER_PAGE = [10, 20, 50, 100].map((n) => ({ title: String(n), value: n }));

export function ListToolbar({ state, onChange, count, placeholder }: Props) {
  const [text, setText] = useState(state.search);
  useEffect(() => setText(state.search), [state.search]);
  return (
    <Toolbar>
      <ToolbarContent>
        <ToolbarItem style={{ flex: '1 1 20rem' }}>
          <SearchInput
            aria-label="Search"
            placeholder={placeholder}
            value={text}
            onChange={(_e, v) => setText(v)}
            onSearch={(_e, v) => onChange({ ...state, search: v, page: 1 })}
            onClear={() => {
              setText('');
              onChange({ ...state, search: '', page: 1 });
            }}
          />
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination state={state} onChange={onChange} count={count} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );
}

export function ListPagination({
  state,
  onChange,
  count,
  bottom = false,
}: Omit<Props, 'placeholder'> & { bottom?: boolean }) {
  return (
    <Pagination
      itemCount={count}
      page={state.page}
      perPage={state.perPage}
      perPageOptions={PER_PAGE}
      onSetPage={(_e, page) => onChange({ ...state, page })}
      onPerPageSelect={(_e, perPage) => onChange({ ...state, perPage, page: 1 })}
      isCompact
      {...(bottom ? { variant: 'bottom' as const, isSticky: true, 'data-testid': 'bottom-pagination' } : {})}
    />
  );
}

/** Where an invalid search went wrong: the API says "at position N" (1-based). */
export function SearchError({ search, message }: { search: string; message: string }) {
  const m = /at position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) - 1 : -1;
  return (
    <div data-testid="search-error" role="alert" className="kh-search-error">
      <strong>{message}</strong>
      {pos >= 0 && pos <= search.length && (
        <pre aria-hidden="true">
          {search}
          {'\n'}
          {' '.repeat(pos)}^
        </pre>
      )}
    </div>
  );
}
