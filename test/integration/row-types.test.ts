/**
 * The SQL boundary, checked: every row type a repository declares is compared with the migrated
 * schema (information_schema.columns). A property must be a column of its table (or one of the
 * few values its queries compute), a nullable column must be typed `| null` and a NOT NULL one
 * must not be, and the TypeScript type must be what node-postgres returns for the column's type
 * (text and uuid → string, integers → number, booleans, timestamptz → Date, bytea → Buffer,
 * arrays, jsonb → an object). A migration that renames, drops or loosens a column fails here
 * until the row type says the same.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceDb, serviceDb } from '../support/services.js';

interface Check {
  file: string;
  /** Its table, then tables it is joined with (their columns may appear too). */
  tables: string[];
  /** Properties the queries compute rather than read from a column, with their TS kind. */
  computed?: Record<string, Kind>;
}

const ROW_TYPES: Record<string, Check> = {
  EmailRow: { file: 'emails', tables: ['emails'], computed: { cursor_ts: 'string' } },
  EmailEventRow: { file: 'emails', tables: ['email_events'] },
  ApiKeyRow: { file: 'api-keys', tables: ['api_keys'] },
  BulkJobRow: { file: 'bulk', tables: ['bulk_jobs'] },
  DeadLetterRow: {
    file: 'dead-letters',
    tables: ['dead_letters', 'emails'],
    computed: { email_status: 'string', cursor_ts: 'string' },
  },
  DomainRow: { file: 'domains', tables: ['domains'], computed: { cursor_ts: 'string' } },
  DkimKeyRow: { file: 'domains', tables: ['domain_dkim_keys'] },
  InboxRow: { file: 'inbox', tables: ['inbox_messages'], computed: { cursor_ts: 'string' } },
  EndpointRow: {
    file: 'outbound-webhooks',
    tables: ['webhook_endpoints'],
    computed: { cursor_ts: 'string' },
  },
  DeliveryRow: {
    file: 'outbound-webhooks',
    tables: ['webhook_deliveries'],
    computed: { cursor_ts: 'string' },
  },
  SuppressionRow: { file: 'suppressions', tables: ['suppressions'], computed: { cursor_ts: 'string' } },
  TemplateVersionRow: {
    file: 'templates',
    tables: ['templates', 'template_versions'],
    computed: { version_created_at: 'Date', cursor_ts: 'string' },
  },
  TenantRow: { file: 'tenants', tables: ['tenants'] },
};

type Kind = 'string' | 'number' | 'boolean' | 'Date' | 'Buffer' | 'array' | 'json';

/** What node-postgres hands back for a column (int8 is parsed to a number: src/db/pg.database.ts). */
function kindOfColumn(dataType: string, udt: string): Kind {
  if (dataType === 'ARRAY') return 'array';
  if (dataType === 'jsonb' || dataType === 'json') return 'json';
  if (dataType === 'boolean') return 'boolean';
  if (dataType === 'bytea') return 'Buffer';
  if (dataType.startsWith('timestamp') || dataType === 'date') return 'Date';
  if (['smallint', 'integer', 'bigint', 'real', 'double precision'].includes(dataType)) return 'number';
  if (
    ['text', 'uuid', 'character varying', 'character', 'inet', 'citext'].includes(dataType) ||
    udt === 'citext'
  )
    return 'string';
  return 'json';
}

interface Property {
  name: string;
  kind: Kind | 'unknown';
  nullable: boolean;
}

/** The properties of each exported interface, with the kind of their non-null type. */
function rowTypes(): Map<string, Property[]> {
  const files = [...new Set(Object.values(ROW_TYPES).map((c) => c.file))].map((f) =>
    fileURLToPath(new URL(`../../src/db/${f}.repository.ts`, import.meta.url)),
  );
  const configPath = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const kindOf = (t: ts.Type): Kind | 'unknown' => {
    if (t.isUnion()) {
      const kinds = new Set(t.types.map(kindOf));
      return kinds.size === 1 ? ([...kinds][0] as Kind) : 'unknown';
    }
    if (t.flags & ts.TypeFlags.StringLike) return 'string';
    if (t.flags & ts.TypeFlags.NumberLike) return 'number';
    if (t.flags & ts.TypeFlags.BooleanLike) return 'boolean';
    if (checker.isArrayType(t)) return 'array';
    const name = t.getSymbol()?.getName();
    if (name === 'Date') return 'Date';
    if (name === 'Buffer') return 'Buffer';
    return 'json';
  };
  const found = new Map<string, Property[]>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`cannot read ${file}`);
    ts.forEachChild(source, (node) => {
      if (!ts.isInterfaceDeclaration(node) || !(node.name.text in ROW_TYPES)) return;
      const type = checker.getTypeAtLocation(node);
      found.set(
        node.name.text,
        type.getProperties().map((p) => {
          const t = checker.getTypeOfSymbol(p);
          const parts = t.isUnion() ? t.types : [t];
          const nullable = parts.some((x) => x.flags & ts.TypeFlags.Null);
          const rest = parts.filter((x) => !(x.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
          const kinds = new Set(rest.map(kindOf));
          // true | false is how TypeScript spells boolean.
          const kind = kinds.size === 1 ? ([...kinds][0] as Kind | 'unknown') : 'unknown';
          return { name: p.getName(), kind, nullable };
        }),
      );
    });
  }
  return found;
}

describe('row types against the migrated schema', () => {
  let s: ServiceDb;
  let columns: Map<string, Map<string, { nullable: boolean; kind: Kind }>>;
  beforeAll(async () => {
    s = await serviceDb();
    const rows = await s.sql<{
      table_name: string;
      column_name: string;
      is_nullable: string;
      data_type: string;
      udt_name: string;
    }>(
      `SELECT table_name, column_name, is_nullable, data_type, udt_name
         FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    columns = new Map();
    for (const r of rows) {
      const t = columns.get(r.table_name) ?? new Map();
      t.set(r.column_name, {
        nullable: r.is_nullable === 'YES',
        kind: kindOfColumn(r.data_type, r.udt_name),
      });
      columns.set(r.table_name, t);
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it('declares each column with its nullability and the type node-postgres returns', () => {
    const types = rowTypes();
    const problems: string[] = [];
    for (const [name, check] of Object.entries(ROW_TYPES)) {
      const props = types.get(name);
      if (!props) {
        problems.push(`${name}: not found in src/db/${check.file}.repository.ts`);
        continue;
      }
      for (const table of check.tables) {
        if (!columns.has(table)) problems.push(`${name}: no table ${table}`);
      }
      for (const p of props) {
        const computed = check.computed?.[p.name];
        if (computed) {
          if (p.kind !== computed)
            problems.push(`${name}.${p.name}: computed as ${computed}, typed ${p.kind}`);
          continue;
        }
        const table = check.tables.find((t) => columns.get(t)?.has(p.name));
        const column = table ? columns.get(table)?.get(p.name) : undefined;
        if (!column) {
          problems.push(`${name}.${p.name}: no such column in ${check.tables.join(' or ')}`);
          continue;
        }
        if (column.nullable !== p.nullable) {
          problems.push(
            `${name}.${p.name}: column is ${column.nullable ? 'nullable' : 'NOT NULL'}, type says ${p.nullable ? '| null' : 'never null'}`,
          );
        }
        // A jsonb column may hold an array (a list of checks, of invalid recipients).
        const fits = column.kind === p.kind || (column.kind === 'json' && p.kind === 'array');
        if (!fits) problems.push(`${name}.${p.name}: column gives ${column.kind}, typed ${p.kind}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
