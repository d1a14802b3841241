import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Page } from '../../lib/api';
import { ErrorMessage } from './ErrorMessage';
import { Empty, Loading } from './Page';
import { Pager, type usePager } from './Pager';

interface TableProps<T> {
  /** Column headings; an empty one is an actions column, named for screen readers only. */
  columns: string[];
  items: T[];
  rowKey: (item: T) => string | number;
  /** The row's cells. */
  row: (item: T) => ReactNode;
  rowClass?: (item: T) => string | undefined;
}

export function DataTable<T>({ columns, items, rowKey, row, rowClass }: TableProps<T>) {
  return (
    <table>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c || 'actions'}>
              {c || <span className="sr-only">Actions</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={rowKey(item)} className={rowClass?.(item)}>
            {row(item)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A listed resource: its error, loading and empty states, the table, and cursor paging. */
export function QueryTable<T>({
  query,
  what,
  empty,
  pager,
  ...table
}: Omit<TableProps<T>, 'items'> & {
  query: UseQueryResult<Page<T>>;
  /** Plural noun for messages: "emails" → "Loading emails", "Emails could not be listed". */
  what: string;
  empty: ReactNode;
  pager?: ReturnType<typeof usePager>;
}) {
  const items = query.data?.items;
  return (
    <>
      <ErrorMessage
        error={query.error}
        title={`${what[0]?.toUpperCase()}${what.slice(1)} could not be listed`}
      />
      {query.isPending && <Loading what={`Loading ${what}`} />}
      {items?.length === 0 && <Empty>{empty}</Empty>}
      {items && items.length > 0 && <DataTable items={items} {...table} />}
      {pager && <Pager pager={pager} nextCursor={query.data?.next_cursor} />}
    </>
  );
}
