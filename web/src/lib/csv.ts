/**
 * RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks; CRLF or LF rows.
 * Returns rows of cells; a trailing empty line is not a row.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]?.trim() === ''));
}

export interface BulkRow {
  line: number;
  email: string;
  name: string;
  variables: Record<string, string>;
  problem: 'invalid' | 'duplicate' | null;
}

export interface BulkPreview {
  columns: string[];
  rows: BulkRow[];
  error: string | null;
}

// The same shape the API accepts: something@domain.tld without spaces; the server has the last word.
const EMAIL = /^[^\s@",;<>]+@[^\s@",;<>]+\.[^\s@",;<>]+$/;

/** Reads a bulk CSV (header row `email,name,<variables…>`) and flags invalid and repeated addresses. */
export function readBulkCsv(text: string): BulkPreview {
  const table = parseCsv(text);
  const header = table[0]?.map((h) => h.trim()) ?? [];
  if (header.length === 0) return { columns: [], rows: [], error: 'The CSV is empty.' };
  const emailAt = header.findIndex((h) => h.toLowerCase() === 'email');
  if (emailAt === -1) {
    return { columns: header, rows: [], error: 'The header row needs an "email" column (email,name,…).' };
  }
  const nameAt = header.findIndex((h) => h.toLowerCase() === 'name');
  const seen = new Set<string>();
  const rows = table.slice(1).map((cells, i): BulkRow => {
    const email = (cells[emailAt] ?? '').trim();
    const variables: Record<string, string> = {};
    header.forEach((h, c) => {
      if (c !== emailAt && c !== nameAt && h !== '') variables[h] = cells[c] ?? '';
    });
    const key = email.toLowerCase();
    let problem: BulkRow['problem'] = null;
    const name = nameAt === -1 ? '' : (cells[nameAt] ?? '').trim();
    // A display name goes into the To header, where a line break cannot go.
    if (!EMAIL.test(email) || /[\r\n\0]/.test(name)) problem = 'invalid';
    else if (seen.has(key)) problem = 'duplicate';
    seen.add(key);
    return {
      line: i + 2,
      email,
      name,
      variables,
      problem,
    };
  });
  return { columns: header, rows, error: rows.length === 0 ? 'The CSV has a header but no rows.' : null };
}
