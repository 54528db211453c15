// Search box (the API's own search syntax, applied on Enter) and pagination, shared by the
// lists. An invalid search shows the API's message instead of the list.
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
          <Pagination
            itemCount={count}
            page={state.page}
            perPage={state.perPage}
            perPageOptions={[10, 20, 50, 100].map((n) => ({ title: String(n), value: n }))}
            onSetPage={(_e, page) => onChange({ ...state, page })}
            onPerPageSelect={(_e, perPage) => onChange({ ...state, perPage, page: 1 })}
            isCompact
          />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );
}
