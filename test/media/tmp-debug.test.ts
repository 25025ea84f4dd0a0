import { afterAll, it } from 'vitest'
import { shutdownMedia } from '../../node/media/media-session.js'
import { createPair, waitConnected } from './helpers.js'
afterAll(() => { shutdownMedia() })
it('loops', async () => {
  const times: Record<string, number[]> = { trickle: [], gathered: [] }
  for (let i = 0; i < 30; i++) {
    for (const mode of ['trickle', 'gathered'] as const) {
      const started = Date.now()
      const pair = createPair({ trickle: mode === 'trickle' })
      const { offerer, answerer } = pair
      offerer.session.start()
      if (mode === 'gathered') {
        const offer = await offerer.session.gathered()
        const r1 = answerer.session.setRemoteDescription(offer, 'offer')
        const answer = await answerer.session.gathered()
        const r2 = offerer.session.setRemoteDescription(answer, 'answer')
        if (!r1.ok || !r2.ok) throw new Error(`${mode} ${i}: ${JSON.stringify([r1, r2])}`)
      }
      try {
        await waitConnected(pair, 8000)
      } catch (err) {
        throw new Error(`${mode} ${i}: ${(err as Error).message} ${offerer.states.join(',')} / ${answerer.states.join(',')} ${JSON.stringify([offerer.signalingErrors, answerer.signalingErrors])}`)
      }
      times[mode]?.push(Date.now() - started)
      offerer.session.close(); answerer.session.close()
    }
  }
  for (const [mode, list] of Object.entries(times)) {
    list.sort((a, b) => a - b)
    console.log(mode, 'median', list[Math.floor(list.length / 2)], 'max', list.at(-1))
  }
}, 600_000)
