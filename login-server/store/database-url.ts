// The --database setting: a postgres:// URL, also taken from the environment (a URL may hold a
// password, better kept off command lines), and shown with its password starred out.
export const DATABASE_URL_ENV = 'VOXMESH_DATABASE_URL'

export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//.test(database)

/** The URL without its passwords (the user's, and any `password`/`sslpassword` parameter), for messages and logs. */
export function redactUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    for (const name of [...parsed.searchParams.keys()]) if (/pass/i.test(name)) parsed.searchParams.set(name, '***')
    return parsed.toString()
  } catch {
    return 'the configured URL'
  }
}
