import { afterAll, it } from 'vitest'
import { initLogger } from 'node-datachannel'
import { shutdownMedia } from '../../node/media/media-session.js'
import { createPair } from './helpers.js'
afterAll(() => { shutdownMedia() })
it('loops', async () => {
  const logs: string[] = []
  initLogger('Debug', (level, msg) => { logs.push(`${Date.now() % 100000} [${level}] ${msg}`) })
  for (let i = 0; i < 40; i++) {
    logs.length = 0
    const pair = createPair({ trickle: false })
    const { offerer, answerer } = pair
    offerer.session.start()
    const offer = await offerer.session.gathered()
    logs.push(`${Date.now() % 100000} JS offer gathered`)
    const r1 = answerer.session.setRemoteDescription(offer, 'offer')
    const answer = await answerer.session.gathered()
    logs.push(`${Date.now() % 100000} JS answer gathered; offerer states ${offerer.states.join(',')}`)
    const r2 = offerer.session.setRemoteDescription(answer, 'answer')
    if (!r1.ok || !r2.ok) {
      await new Promise(resolve => setTimeout(resolve, 300))
      console.log('FAIL', i, JSON.stringify(r1), JSON.stringify(r2), 'states', offerer.states.join(','), '/', answerer.states.join(','))
      console.log(logs.filter(l => !/Wrapper::|Verbose/.test(l)).join('\n'))
      console.log(offer); console.log(answer)
      throw new Error('failed')
    }
    offerer.session.close(); answerer.session.close()
  }
}, 120_000)
