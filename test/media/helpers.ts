// Two media sessions in one process, and the offer/answer exchange calls make between them.
import { silentLogger } from '../../common/logger.js'
import { createOpusEncoder } from '../../node/media/audio/opus.js'
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../node/media/audio/pcm.js'
import { createMediaSession, type MediaIceServer, type MediaSession, type MediaState, type ReceivedRtp } from '../../node/media/media-session.js'
import { waitUntil } from '../helpers/wait.js'

export interface Received { payload: Uint8Array, rtp: ReceivedRtp }

export interface Side {
  session: MediaSession
  states: MediaState[]
  received: Received[]
  /** Results of every setRemoteDescription the exchange made on this side. */
  signalingErrors: string[]
}

export interface PairOptions {
  relayOnly?: boolean
  iceServers?: MediaIceServer[]
  /** The answerer's own, when they differ from the offerer's. */
  answerer?: { relayOnly?: boolean, iceServers?: MediaIceServer[], bindAddress?: string }
  mediaTimeoutMs?: number
  /** Where ICE gathers (default 127.0.0.1). */
  bindAddress?: string
}

export interface Pair {
  offerer: Side
  answerer: Side
}

function side (role: 'offerer' | 'answerer', options: PairOptions): Side {
  const self: Side = { session: undefined as unknown as MediaSession, states: [], received: [], signalingErrors: [] }
  self.session = createMediaSession({
    role,
    iceServers: options.iceServers ?? [],
    relayOnly: options.relayOnly,
    bindAddress: options.bindAddress ?? '127.0.0.1',
    mediaTimeoutMs: options.mediaTimeoutMs,
    log: silentLogger,
    onAudio: (payload, rtp) => { self.received.push({ payload, rtp }) },
    onState: state => { self.states.push(state) }
  })
  return self
}

function note (target: Side, result: { ok: boolean, reason?: string }): void {
  if (!result.ok) target.signalingErrors.push(result.reason ?? 'not ok')
}

/** Two sessions (on 127.0.0.1 unless told), not yet wired: exchangeGathered() or the test hands descriptions over. */
export function createPair (options: PairOptions = {}): Pair {
  return { offerer: side('offerer', options), answerer: side('answerer', { ...options, ...options.answerer }) }
}

/**
 * Offer and answer with every candidate inside (no trickle), as calls exchange them: the answerer
 * sees the offer's candidates before it answers, and chooses its DTLS role from them
 * (candidate-gate.ts). Refusals are noted in each side's signalingErrors.
 */
export async function exchangeGathered (pair: Pair): Promise<void> {
  pair.offerer.session.start()
  note(pair.answerer, pair.answerer.session.setRemoteDescription(await pair.offerer.session.gathered(), 'offer'))
  note(pair.offerer, pair.offerer.session.setRemoteDescription(await pair.answerer.session.gathered(), 'answer'))
}

/** Waits for `predicate`; resolves with the milliseconds it took. */
export async function waitFor (what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now()
  await waitUntil(what, predicate, timeoutMs)
  return Date.now() - started
}

export async function waitConnected (pair: Pair, timeoutMs = 10_000): Promise<void> {
  await waitFor('both sessions connected', () =>
    pair.offerer.session.state() === 'connected' && pair.answerer.session.state() === 'connected', timeoutMs)
}

/** Real Opus: `count` 20 ms frames of a tone, encoded by the call encoder. */
export function opusFrames (count: number, frequency = 440): Uint8Array[] {
  const encoder = createOpusEncoder({ fec: true })
  const frames: Uint8Array[] = []
  for (let n = 0; n < count; n++) {
    const pcm = new Int16Array(FRAME_SAMPLES)
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      pcm[i] = Math.round(8000 * Math.sin(2 * Math.PI * frequency * (n * FRAME_SAMPLES + i) / SAMPLE_RATE))
    }
    frames.push(Uint8Array.from(encoder.encode(pcm)))
  }
  return frames
}

/** Sends frames from both sides at the 20 ms pace of a call. */
export async function sendFrames (senders: MediaSession[], frames: Uint8Array[], intervalMs = 20): Promise<void> {
  for (const frame of frames) {
    for (const sender of senders) sender.sendAudio(frame)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

export function closeAll (pair: Pair | undefined): void {
  pair?.offerer.session.close()
  pair?.answerer.session.close()
}
