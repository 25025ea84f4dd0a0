// `voxmesh account create NAME`: make an account on a login server. The login client
// loads in the action: the CLI's other commands do not need it.
import { Command } from 'commander'
import { DEFAULT_LOGIN_SERVER_URL } from '../../common/login-defaults.js'
import { invalidUsernameMessage, normalizeUsername, USERNAME_RULE } from '../../common/usernames.js'
import { UserError } from '../../common/user-error.js'

export function accountCommand (): Command {
  const account = new Command('account').description('manage your voxmesh account')
  account.command('create')
    .description('create an account (password from --password-file, $VOXMESH_PASSWORD, or a prompt on a terminal)')
    .argument('<name>', `username: ${USERNAME_RULE}`)
    .option('--login-server <url>', 'login server URL', DEFAULT_LOGIN_SERVER_URL)
    .option('--password-file <file>', 'read the password from this file (first line)')
    .action(async (name: string, opts: { loginServer: string, passwordFile?: string }) => {
      const username = normalizeUsername(name)
      if (username === undefined) throw new UserError(invalidUsernameMessage(name))
      const [{ LoginApiError, LoginClient }, { readPassword }] = await Promise.all([
        import('../../common/login-client.js'), import('../../common/password-input.js')
      ])
      const password = await readPassword({ passwordFile: opts.passwordFile, prompt: 'New password: ', confirm: true })
      try {
        const { username } = await new LoginClient(opts.loginServer).createAccount(name, password)
        process.stdout.write(`account "${username}" created on ${opts.loginServer}\n`)
      } catch (err) {
        if (err instanceof LoginApiError) {
          switch (err.code) {
            case 'username_taken': throw new UserError(`the username "${username}" is taken; pick another`)
            case 'weak_password': throw new UserError(`password refused: ${err.message}`)
            case 'rate_limited': throw new UserError(`too many new accounts from this address; try again in ${err.retryAfterSeconds ?? 'a few'} s`)
          }
          throw new UserError(`the login server refused: ${err.message} (${err.code})`)
        }
        throw err
      }
    })
  return account
}
