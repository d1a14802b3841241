import { useState } from 'react';

/**
 * Cursor paging: the API hands out `next_cursor` only, so going back means remembering the
 * cursors that led here.
 */
export function usePager(resetKey: string) {
  const [state, setState] = useState<{ key: string; stack: (string | undefined)[] }>({
    key: resetKey,
    stack: [undefined],
  });
  const stack = state.key === resetKey ? state.stack : [undefined];
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    next: (cursor: string) => setState({ key: resetKey, stack: [...stack, cursor] }),
    prev: () => setState({ key: resetKey, stack: stack.length > 1 ? stack.slice(0, -1) : stack }),
  };
}

export function Pager({
  pager,
  nextCursor,
}: {
  pager: ReturnType<typeof usePager>;
  nextCursor: string | null | undefined;
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={pager.prev} disabled={pager.page <= 1}>
        ← Newer
      </button>
      <span className="muted">Page {pager.page}</span>
      <button type="button" onClick={() => nextCursor && pager.next(nextCursor)} disabled={!nextCursor}>
        Older →
      </button>
    </nav>
  );
}
