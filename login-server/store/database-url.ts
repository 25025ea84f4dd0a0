// The --database setting: a postgres:// URL, also taken from the environment (a URL may hold a
// password, better kept off command lines), and shown with its password starred out.
export const DATABASE_URL_ENV = 'VOXMESH_DATABASE_URL'

export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//.test(database)

/** The URL without its password, for messages and logs. */
export function redactUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'the configured URL'
  }
}
