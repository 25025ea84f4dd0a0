// Calls on a running node: the call manager (signaling state machines) wired to
// media sessions (node-datachannel, ICE through our supernode's TURN relay) and
// per-call audio (sources, sinks, Opus, jitter buffer).
import { join, resolve } from 'node:path'
import { mkdirSync } from 'node:fs'
import type { Sodium } from '../../common/sodium.js'
import { systemClock } from '../../common/clock.js'
import { UserError } from '../../common/user-error.js'
import { normalizeUsername } from '../../common/usernames.js'
import type { Host } from '../overlay/host.js'
import type { Logger } from '../../common/logger.js'
import { createMediaSession, type MediaSession } from '../media/media-session.js'
import { createToneSource, createSilenceSource, createWavFileSource, createMicrophoneSource, type AudioSource } from '../media/audio/sources.js'
import { createNullSink, createSpeakerSink, createWavFileSink, type AudioSink } from '../media/audio/sinks.js'
import { createCallManager, CallError, type CallEvent, type MediaPort } from './call-manager.js'
import { startCallAudio, type CallAudio } from './call-audio.js'
import { estimateMos } from './mos.js'
import type { CallAudioOptions, CallInfo, CallOptions, CallProgressEvent, CallStats } from './call-types.js'
import { isCallBody } from './call-bodies.js'

/** How long a media failure waits for the peer's signaling to explain it (a hangup). */
const MEDIA_FAILURE_GRACE_MS = 2000

export interface CallDefaults {
  autoAnswer?: boolean
  play?: string
  tone?: number
  recordDir?: string
  mic?: boolean
  speaker?: boolean
  /** Take calls from non-contacts too (default: contacts only). */
  anyone?: boolean
  callWaiting?: boolean
  ringTimeoutMs?: number
}

export interface CallServiceOptions {
  sodium: Sodium
  log: Logger
  host: Host
  user: string
  deviceKey: string
  deviceSecretKey: Uint8Array
  isContact: (user: string) => boolean
  defaults: CallDefaults
  emit: (event: CallProgressEvent) => void
  /** ICE gathers only on this address (tests on one machine). */
  bindAddress?: string
}

interface CallMedia {
  session?: MediaSession
  audio?: CallAudio
  audioOptions: CallAudioOptions
  muted: boolean
  statsTimer?: NodeJS.Timeout
  recording?: string
  lastBytes: number
}

export interface CallService {
  placeCall: (to: string, options?: CallOptions) => Promise<{ callId: string }>
  answerCall: (callId?: string, options?: CallAudioOptions) => Promise<{ callId: string }>
  declineCall: (callId?: string) => void
  hangup: (callId?: string) => void
  setMuted: (muted: boolean, callId?: string) => void
  calls: () => CallInfo[]
  /** A body the overlay delivered without interpreting it: acted on when it is call signaling, else logged and dropped. */
  handleSignal: (from: { user: string, deviceKey: string }, body: unknown) => void
  close: () => Promise<void>
}

export function createCallService (options: CallServiceOptions): CallService {
  const { log, host, defaults, emit } = options
  const media = new Map<string, CallMedia>()
  const mediaOf = (callId: string): CallMedia => {
    let entry = media.get(callId)
    if (entry === undefined) media.set(callId, entry = { audioOptions: {}, muted: false, lastBytes: 0 })
    return entry
  }

  const iceServers = async (): Promise<Array<{ hostname: string, port: number, username: string, password: string, relayType: 'TurnUdp' }>> => {
    const turn = await host.turnCredentials().catch(() => undefined)
    return turn === undefined ? [] : [{ hostname: turn.host, port: turn.port, username: turn.username, password: turn.password, relayType: 'TurnUdp' }]
  }

  const openSession = async (callId: string, role: 'offerer' | 'answerer', relayOnly: boolean): Promise<MediaSession> => {
    const servers = await iceServers()
    if (relayOnly && servers.length === 0) throw new Error('relay-only call, but our supernode offers no TURN relay')
    const entry = mediaOf(callId)
    const session = createMediaSession({
      role,
      iceServers: servers,
      relayOnly,
      bindAddress: options.bindAddress,
      log,
      onAudio: (payload, rtp) => { entry.audio?.receive(payload, rtp) },
      onState: (state, reason) => {
        if (state === 'connected') void onMediaConnected(callId)
        else if (state === 'failed' || state === 'closed' || state === 'disconnected') {
          // The peer's hangup usually closes its media a moment before its call-end
          // signal arrives: give signaling the chance to say why before calling it a failure.
          setTimeout(() => { manager.mediaFailed(callId, `media ${state}${reason === undefined ? '' : `: ${reason}`}`) }, MEDIA_FAILURE_GRACE_MS).unref()
        }
      }
    })
    entry.session = session
    return session
  }

  const port: MediaPort = {
    async offer (callId, { relayOnly }) {
      const session = await openSession(callId, 'offerer', relayOnly)
      session.start()
      return await session.gathered()
    },
    async answer (callId, offerSdp, { relayOnly }) {
      const session = await openSession(callId, 'answerer', relayOnly)
      // A refused offer would otherwise only show as a gathering timeout: say why, at once.
      const applied = session.setRemoteDescription(offerSdp, 'offer')
      if (!applied.ok) throw new Error(`offer refused: ${applied.reason}`)
      return await session.gathered()
    },
    accept (callId, answerSdp) {
      const session = media.get(callId)?.session
      if (session === undefined) throw new Error('no media session for this call')
      const applied = session.setRemoteDescription(answerSdp, 'answer')
      if (!applied.ok) throw new Error(applied.reason)
    },
    close (callId) {
      const entry = media.get(callId)
      if (entry === undefined) return
      clearInterval(entry.statsTimer)
      const relayed = entry.session?.relayedAddresses() ?? []
      entry.session?.close()
      entry.session = undefined
      // Our ICE agent leaves its allocations on our supernode's relay open until they expire.
      host.releaseTurn(relayed)
    }
  }

  const sourceFor = (audio: CallAudioOptions): AudioSource => {
    if (audio.tone !== undefined) return createToneSource({ frequency: audio.tone })
    if (audio.play !== undefined) return createWavFileSource(audio.play, { loop: true })
    if (defaults.tone !== undefined) return createToneSource({ frequency: defaults.tone })
    if (defaults.play !== undefined) return createWavFileSource(defaults.play, { loop: true })
    if (defaults.mic === true) return createMicrophoneSource()
    return createSilenceSource()
  }
  const sinkFor = (callId: string, audio: CallAudioOptions): { sink: AudioSink, recording?: string } => {
    if (audio.record !== undefined) return { sink: createWavFileSink(audio.record), recording: audio.record }
    if (defaults.recordDir !== undefined) {
      mkdirSync(defaults.recordDir, { recursive: true })
      const recording = resolve(join(defaults.recordDir, `${callId}.wav`))
      return { sink: createWavFileSink(recording), recording }
    }
    if (defaults.speaker === true) return { sink: createSpeakerSink() }
    return { sink: createNullSink() }
  }

  const onMediaConnected = async (callId: string): Promise<void> => {
    const entry = media.get(callId)
    const session = entry?.session
    if (entry === undefined || session === undefined || entry.audio !== undefined) return
    // The selected candidate pair can show up a little after the state change.
    let stats = session.stats()
    for (let waited = 0; stats.path === 'unknown' && waited < 2000; waited += 50) {
      await new Promise(resolve => setTimeout(resolve, 50))
      stats = session.stats()
    }
    if (entry.session !== session) return
    const path = stats.path === 'relay' ? 'relay' : 'direct'
    const relay = path === 'relay' ? relayName(stats.localCandidateType === 'relay') : undefined
    manager.mediaConnected(callId, { path, relay })
    try {
      const { sink, recording } = sinkFor(callId, entry.audioOptions)
      entry.recording = recording
      entry.audio = await startCallAudio({ source: sourceFor(entry.audioOptions), sink, send: payload => { session.sendAudio(payload) }, log })
      entry.audio.setMuted(entry.muted)
    } catch (err) {
      log.warn({ callId }, `call audio could not start: ${(err as Error).message}`)
      manager.mediaFailed(callId, `audio: ${(err as Error).message}`)
      return
    }
    entry.statsTimer = setInterval(() => { emit({ event: 'call-stats', callId, ...statsOf(entry) }) }, 1000)
  }

  /** The relaying supernode: ours when our relay candidate was chosen, else the other side's. */
  const relayName = (ours: boolean): string => {
    const sn = host.supernode
    return ours && sn !== undefined ? `${sn.user ?? 'supernode'}@${sn.address}` : 'the other side\'s supernode'
  }

  const statsOf = (entry: CallMedia): CallStats => {
    const session = entry.session?.stats()
    const audio = entry.audio?.stats()
    const received = audio?.bytesReceived ?? 0
    const bitrateKbps = Math.round((received - entry.lastBytes) * 8 / 100) / 10
    entry.lastBytes = received
    const rttMs = audio?.rttMs ?? null
    return {
      path: session?.path ?? 'unknown',
      rttMs,
      jitterMs: audio?.jitterMs ?? 0,
      lossPct: audio?.lossPct ?? 0,
      bitrateKbps,
      mos: estimateMos({ oneWayDelayMs: (rttMs ?? 0) / 2 + (audio?.bufferDelayMs ?? 0) + 20, lossPct: audio?.lossPct ?? 0 }),
      packetsSent: session?.packetsSent ?? 0,
      packetsReceived: session?.packetsReceived ?? 0
    }
  }

  const onCallEvent = (event: CallEvent): void => {
    switch (event.event) {
      case 'incoming':
        emit({ event: 'call-incoming', callId: event.callId, from: event.from })
        if (defaults.autoAnswer === true) {
          void service.answerCall(event.callId).catch((err: Error) => { log.warn({ callId: event.callId }, `auto-answer failed: ${err.message}`) })
        }
        return
      case 'ringing':
        emit({ event: 'call-ringing', callId: event.callId, peer: event.peer })
        return
      case 'connected':
        emit({ event: 'call-connected', callId: event.callId, peer: event.peer, path: event.path, relay: event.relay, setupMs: event.setupMs })
        return
      case 'ended': {
        const entry = media.get(event.callId)
        media.delete(event.callId)
        void (async () => {
          if (entry !== undefined) clearInterval(entry.statsTimer)
          await entry?.audio?.close()
          emit({ event: 'call-ended', callId: event.callId, peer: event.peer, reason: event.reason, message: event.message, durationMs: event.durationMs, recording: entry?.recording })
        })()
      }
    }
  }

  const manager = createCallManager(
    { sodium: options.sodium, clock: systemClock, log, media: port, send: (to, body) => host.send(to, body), deviceSecretKey: options.deviceSecretKey },
    {
      user: options.user,
      deviceKey: options.deviceKey,
      mayCall: from => defaults.anyone === true || options.isContact(from),
      callWaiting: defaults.callWaiting,
      ringTimeoutMs: defaults.ringTimeoutMs,
      onEvent: onCallEvent
    }
  )

  const refuse = (err: unknown): never => {
    throw err instanceof CallError ? new UserError(err.message) : err
  }

  const service: CallService = {
    async placeCall (to, callOptions = {}) {
      const peer = normalizeUsername(to)
      if (peer === undefined) throw new UserError(`"${to}" is not a valid username`)
      if (host.supernode === undefined) throw new UserError('not connected to the network yet (no supernode); try again shortly')
      const callId = await manager.call(peer, { relayOnly: callOptions.relayOnly }).catch(refuse)
      mediaOf(callId).audioOptions = callOptions
      return { callId }
    },
    async answerCall (callId, audioOptions = {}) {
      const call = manager.calls().find(c => c.state === 'ringing' && c.direction === 'incoming' && (callId === undefined || c.id.startsWith(callId)))
      if (call !== undefined) mediaOf(call.id).audioOptions = audioOptions
      await manager.answer(call?.id ?? callId).catch(refuse)
      return { callId: call?.id ?? callId ?? '' }
    },
    declineCall (callId) {
      try { manager.decline(callId) } catch (err) { refuse(err) }
    },
    hangup (callId) {
      try { manager.hangup(callId) } catch (err) { refuse(err) }
    },
    setMuted (muted, callId) {
      const call = manager.calls().find(c => c.state !== 'ended' && (callId === undefined || c.id.startsWith(callId)))
      if (call === undefined) throw new UserError(callId === undefined ? 'no call to mute' : `no such call: ${callId}`)
      const entry = mediaOf(call.id)
      entry.muted = muted
      entry.audio?.setMuted(muted)
    },
    calls: () => manager.calls().map(call => {
      const entry = media.get(call.id)
      return {
        callId: call.id,
        direction: call.direction,
        peer: call.peer,
        state: call.state,
        startedAt: call.startedAt,
        connectedAt: call.connectedAt,
        muted: entry?.muted ?? false,
        stats: entry?.audio === undefined ? undefined : statsOf({ ...entry })
      }
    }),
    handleSignal (from, body) {
      if (isCallBody.Check(body)) manager.handleSignal(from, body)
      else log.warn({ from: from.user, type: (body as { type?: unknown }).type }, 'dropped a delivered body that is not call signaling of a known shape')
    },
    async close () {
      manager.close()
      await Promise.all([...media.values()].map(entry => entry.audio?.close()))
    }
  }
  return service
}
