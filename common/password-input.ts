// Where a command gets a password: --password-file, $VOXMESH_PASSWORD, or a
// prompt on a TTY. Never from a plain argument (it would show in `ps` and history).
import { readFileSync } from 'node:fs'
import { UserError } from './user-error.js'

export const PASSWORD_ENV = 'VOXMESH_PASSWORD'

export class PasswordInputError extends UserError {}

export async function readPassword (options: { passwordFile?: string, prompt: string, confirm?: boolean }): Promise<string> {
  if (options.passwordFile !== undefined) {
    let text: string
    try {
      text = readFileSync(options.passwordFile, 'utf8')
    } catch (err) {
      throw new PasswordInputError(`cannot read the password file ${options.passwordFile}: ${(err as Error).message}`)
    }
    // One trailing newline is the file's, not the password's.
    return text.replace(/\r?\n$/, '')
  }
  const fromEnv = process.env[PASSWORD_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  if (process.stdin.isTTY !== true) {
    throw new PasswordInputError(`no password: use --password-file FILE, set ${PASSWORD_ENV}, or run on a terminal to be asked`)
  }
  const password = await promptHidden(options.prompt)
  if (options.confirm === true && await promptHidden('Repeat password: ') !== password) {
    throw new PasswordInputError('the two passwords differ')
  }
  return password
}

/** Reads one line from the terminal without echoing it. */
function promptHidden (prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin
    process.stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    let input = ''
    const done = (err?: Error): void => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      process.stderr.write('\n')
      if (err !== undefined) reject(err)
      else resolve(input)
    }
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') { done(); return }
        if (char === '\u0003') { done(new PasswordInputError('cancelled')); return }
        if (char === '\u007f' || char === '\b') input = [...input].slice(0, -1).join('')
        else input += char
      }
    }
    stdin.on('data', onData)
  })
}
