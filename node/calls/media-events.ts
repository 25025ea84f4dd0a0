// What the media port (media-port.ts) does as a call's media session changes state: on connecting,
// the call's audio starts (on its codecs, opened ahead) and the signaling learns the path; a
// recovery's session takes over; a lost session makes a connected call recover and one still
// setting up fail.
import type { Logger } from '../../common/logger.js'
import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { planAudio, sinkFor, sourceFor, type CallDefaults } from './audio-choice.js'
import { startCallAudio } from './call-audio.js'
import type { CallIce } from './call-ice.js'
import type { CallMedia } from './call-media.js'
import { callSetupOf, callStatsOf, describeSetup } from './call-stats.js'
import type { CallProgressEvent } from './call-types.js'
import type { Call } from './call.js'
import { CALL_STATS_INTERVAL_MS, MEDIA_FAILURE_GRACE_MS } from './constants.js'
import type { CallMediaPortComponents } from './media-port.js'

export interface MediaEventContext {
  components: CallMediaPortComponents
  defaults: CallDefaults
  ice: CallIce
  /** The calls' media whose audio was started (it loads the codec asynchronously). */
  audioOpened: WeakSet<CallMedia>
}

/**
 * The call's call-stats event every CALL_STATS_INTERVAL_MS until its media closes. ICE may connect
 * on one pair and nominate a better one a moment later (libjuice waits up to 2 s for a higher-priority
 * pair still being checked): logged once it does, as the path reported on connecting was another.
 */
function emitStats (call: Call, media: CallMedia, log: Logger, emit: (event: CallProgressEvent) => void): void {
  const callId = call.id
  let pair = media.connectedPair
  let setupLogged = false
  media.every(CALL_STATS_INTERVAL_MS, () => {
    // By the first tick the first audio has arrived (or it is late, which the line then shows).
    if (!setupLogged) {
      setupLogged = true
      const setup = callSetupOf(media, call)
      log.info({ callId, setup }, `call setup: ${describeSetup(setup)}`)
    }
    const now = callStatsOf(media, true)
    const latest = media.session.stats().selectedPair
    if (latest !== pair) log.info({ callId, path: now.path, pair: latest }, `call media moved to ${now.path}: ${latest ?? 'no selected pair'} (was ${pair ?? 'none'})`)
    pair = latest
    emit({ event: 'call-stats', callId, ...now })
  })
}

/**
 * Starts the call's audio on its media (the source and sink its plan names): undefined when it runs,
 * 'closed' when the call ended meanwhile, else what went wrong (whatever had opened is closed again).
 */
async function openCallAudio (call: Call, media: CallMedia, defaults: CallDefaults, log: Logger): Promise<string | undefined> {
  let opened: { source?: AudioSource, sink?: AudioSink } = {}
  try {
    const plan = call.audio ?? planAudio({}, defaults)
    opened.source = sourceFor(plan)
    const { sink, recording } = sinkFor(call.id, plan, defaults)
    opened.sink = sink
    media.recording = recording
    // Sends on whichever session carries the call at the time (a recovery swaps it).
    const audio = await startCallAudio({ source: opened.source, sink, send: payload => { media.session.sendAudio(payload) }, log, codecs: media.takeCodecs() })
    opened = {}
    media.audio = audio
    audio.setMuted(call.muted)
    // Ended while the codec loaded: close() ran before there was audio to close.
    if (media.closed) { await audio.close(); return 'closed' }
    return undefined
  } catch (err) {
    // What opened before the failure is closed here (an empty recording is removed).
    opened.source?.close()
    await opened.sink?.close()
    media.recording = undefined
    return (err as Error).message
  }
}

/** A session went silent or failed: a connected call recovers, one still setting up fails. */
export function onMediaLost (components: CallMediaPortComponents, call: Call, generation: number, state: string, reason: string | undefined): void {
  if (call.state === 'connected') {
    components.signaling().mediaInterrupted(call.id, generation, reason ?? `media ${state}`, call.media?.silentMs?.() ?? 0)
    return
  }
  const why = `media ${state}${reason === undefined ? '' : `: ${reason}`}`
  // The peer's hangup usually closes its media a moment before its call-end
  // signal arrives: give signaling the chance to say why before calling it a failure.
  if (generation === 0) components.clock.setTimeout(() => { components.signaling().mediaFailed(call.id, why) }, MEDIA_FAILURE_GRACE_MS)
}

/** Session `generation` of the call connected: the first one starts the call's audio, a recovery's takes over. */
export async function onMediaConnected (ctx: MediaEventContext, call: Call, media: CallMedia, generation: number): Promise<void> {
  const { components, ice } = ctx
  const { log } = components
  if (generation > 0) { await onReconnected(ctx, call, media, generation); return }
  // A session that reconnects on its own reports connected again: its audio runs already.
  if (ctx.audioOpened.has(media)) return
  ctx.audioOpened.add(media)
  // The audio starts at once; the selected pair can show up a moment after the state change,
  // and the first audio should not wait for it (only the connected event names the path).
  const starting = openCallAudio(call, media, ctx.defaults, log)
  const { path, relay, pair } = await ice.settledPath(media.session)
  media.connectedPair = pair
  if (!media.closed) {
    log.info({ callId: call.id, path, pair }, `call media connected ${path}: ${pair ?? 'no selected pair yet'}`)
    components.signaling().mediaConnected(call.id, { path, relay })
  }
  const problem = await starting
  if (problem === 'closed' || media.closed) return
  if (problem !== undefined) {
    log.warn({ callId: call.id }, `call audio could not start: ${problem}`)
    components.signaling().mediaFailed(call.id, `audio: ${problem}`)
    return
  }
  emitStats(call, media, log, components.emit)
}

/** A recovery's session connected: it carries the call (and its running audio) from now on. */
async function onReconnected (ctx: MediaEventContext, call: Call, media: CallMedia, generation: number): Promise<void> {
  if (!media.promote(generation)) return
  const { path, relay, pair } = await ctx.ice.settledPath(media.session)
  if (media.closed) return
  ctx.components.log.info({ callId: call.id, generation, path, pair }, `call media reconnected ${path} on session ${generation}: ${pair ?? 'no selected pair yet'}`)
  ctx.components.signaling().mediaConnected(call.id, { path, relay, generation })
}
