// `voxmesh login-server --help` shows its defaults as people type them.
import { describe, expect, it } from 'vitest'
import { loginServerCommand } from '../../login-server/cli.js'
import { parseDurationSeconds } from '../../common/duration.js'
import { DEFAULT_CERTIFICATE_TTL_SECONDS } from '../../login-server/constants.js'

describe('login-server --help', () => {
  it('shows the certificate lifetime in the units --certificate-ttl takes', () => {
    const help = loginServerCommand().helpInformation()
    const shown = /--certificate-ttl <duration>[\s\S]*?\(default: ([^)]+)\)/.exec(help)?.[1]
    expect(shown).toBe('12h')
    expect(parseDurationSeconds(shown as string)).toBe(DEFAULT_CERTIFICATE_TTL_SECONDS)
  })

  it('parses --certificate-ttl as seconds', async () => {
    const command = loginServerCommand().exitOverride().action(() => {})
    await command.parseAsync(['--certificate-ttl', '90m'], { from: 'user' })
    expect(command.opts().certificateTtl).toBe(5400)
    await command.parseAsync([], { from: 'user' })
    expect(command.opts().certificateTtl).toBe(DEFAULT_CERTIFICATE_TTL_SECONDS)
  })
})
