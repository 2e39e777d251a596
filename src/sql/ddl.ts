import { type SqlDialect, type TableDef, quote } from './driver.js';

/** CREATE TABLE and CREATE INDEX statements for one table definition, in the dialect's types and names. */
export function createTableDdl(dialect: SqlDialect, table: TableDef): string[] {
  const lines = table.columns.map((c) => `  ${quote(c.name)} ${dialect.types[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
  lines.push(`  PRIMARY KEY (${table.primaryKey.map(quote).join(', ')})`);
  for (const fk of table.foreignKeys ?? []) {
    lines.push(`  FOREIGN KEY (${fk.columns.map(quote).join(', ')}) REFERENCES ${dialect.table(fk.table)} (${fk.references.map(quote).join(', ')})`);
  }
  const statements = [`CREATE TABLE ${dialect.table(table.name)} (\n${lines.join(',\n')}\n)`];
  for (const ix of table.indexes ?? []) {
    const where = ix.where ? ` WHERE ${ix.where}` : '';
    statements.push(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${dialect.index(table.name, ix.name)} ON ${dialect.table(table.name)} (${ix.columns.map(quote).join(', ')})${where}`);
  }
  return statements;
}

/** DROP TABLE without CASCADE: an object of someone else's that depends on the table makes it fail instead of vanishing with it. */
export function dropTableDdl(dialect: SqlDialect, table: TableDef): string {
  return `DROP TABLE ${dialect.table(table.name)}`;
}
