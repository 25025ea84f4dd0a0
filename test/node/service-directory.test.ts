// Who beyond contacts a node can reach: the services every user may call, and (for a service's own
// node) the users it reached through the login server, the most recent MAX_REACHED_USERS of them.
import { describe, expect, it } from 'vitest'
import { createServiceDirectory, MAX_REACHED_USERS } from '../../node/runtime/service-directory.js'
import type { LoginSession } from '../../node/runtime/login-session.js'
import { silentLogger } from '../../common/logger.js'

const view = (username: string): { username: string, lookupKey: string, sealKey: string } =>
  ({ username, lookupKey: Buffer.from(username.padEnd(32, '.')).toString('hex'), sealKey: 'k'.repeat(43) })

function fakeSession (services: string[], options: { service?: boolean, failing?: Set<string> } = {}): LoginSession & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    services: async () => services.map(view),
    ...(options.service === true
      ? {
          reachOf: async (user: string) => {
            asked.push(user)
            if (options.failing?.has(user) === true) throw new Error('no such user')
            return view(user)
          }
        }
      : {})
  } as unknown as LoginSession & { asked: string[] }
}

describe('the service directory', () => {
  it('knows the services the login server lists, and finds one added since by asking again', async () => {
    const listed = ['pstn']
    const session = fakeSession(listed)
    let changes = 0
    const directory = createServiceDirectory(session, silentLogger, () => { changes++ })
    await directory.refresh()
    expect(directory.isService('pstn')).toBe(true)
    expect(directory.isService('alice')).toBe(false)
    expect(directory.capabilities().map(c => c.user)).toEqual(['pstn'])
    listed.push('fax')
    expect(await directory.find('fax')).toBe(true)
    expect(changes).toBe(1)
    expect(await directory.find('bob')).toBe(false)
  })

  it('on a user\'s node, reaches no one beyond the services', async () => {
    const session = fakeSession(['pstn'])
    const directory = createServiceDirectory(session, silentLogger, () => {})
    await directory.reach('alice')
    expect(directory.capabilities().map(c => c.user)).toEqual([])
  })

  it('on a service\'s node, reaches users through the login server, asks once per user, and keeps the most recent ones only', async () => {
    const session = fakeSession([], { service: true, failing: new Set(['ghost']) })
    let changes = 0
    const directory = createServiceDirectory(session, silentLogger, () => { changes++ })
    await directory.reach('alice')
    await directory.reach('alice')
    expect(session.asked).toEqual(['alice'])
    expect(changes).toBe(1)
    await directory.reach('ghost')
    expect(directory.capabilities().map(c => c.user)).toEqual(['alice'])
    for (let i = 0; i < MAX_REACHED_USERS + 10; i++) await directory.reach(`user${i}`)
    const users = directory.capabilities().map(c => c.user)
    expect(users.length).toBe(MAX_REACHED_USERS)
    expect(users).not.toContain('alice')
    expect(users.at(-1)).toBe(`user${MAX_REACHED_USERS + 9}`)
  })
})
