// Where the tests find PostgreSQL: WISP_TEST_POSTGRES (a URL), else this machine's server with
// trust authentication (.ci/run starts it) and the database `test`.
export function postgresTestUrl(schema?: string): string {
  const base = process.env.WISP_TEST_POSTGRES ?? `postgres://${process.env.PGUSER ?? 'postgres'}@127.0.0.1:5432/test`;
  if (schema === undefined) return base;
  return `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
}
