import { type IndexDef, type SqlDialect, type TableDef, quote } from './driver.js';

/** CREATE TABLE and CREATE INDEX statements for one table definition, in the dialect's types and names; deferred indexes only when asked for. */
export function createTableDdl(dialect: SqlDialect, table: TableDef, options: { deferredIndexes?: boolean } = {}): string[] {
  const lines = table.columns.map((c) => `  ${quote(c.name)} ${dialect.types[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
  lines.push(`  PRIMARY KEY (${table.primaryKey.map(quote).join(', ')})`);
  for (const fk of table.foreignKeys ?? []) {
    lines.push(`  FOREIGN KEY (${fk.columns.map(quote).join(', ')}) REFERENCES ${dialect.table(fk.table)} (${fk.references.map(quote).join(', ')})`);
  }
  return [`CREATE TABLE ${dialect.table(table.name)} (\n${lines.join(',\n')}\n)`, ...createIndexDdl(dialect, table, (ix) => !ix.deferred || options.deferredIndexes === true)];
}

/** CREATE INDEX statements for the table's indexes that `which` selects. */
export function createIndexDdl(dialect: SqlDialect, table: TableDef, which: (index: IndexDef) => boolean): string[] {
  return (table.indexes ?? []).filter(which).map((ix) => {
    const where = ix.where ? ` WHERE ${ix.where}` : '';
    return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${dialect.index(table.name, ix.name)} ON ${dialect.table(table.name)} (${ix.columns.map(quote).join(', ')})${where}`;
  });
}

/** DROP TABLE without CASCADE: an object of someone else's that depends on the table makes it fail instead of vanishing with it. */
export function dropTableDdl(dialect: SqlDialect, table: TableDef): string {
  return `DROP TABLE ${dialect.table(table.name)}`;
}
