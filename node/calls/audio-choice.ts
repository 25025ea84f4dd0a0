// Where a call's audio comes from and goes to: what the user asked for this
// call, else the node's defaults, else silence and nowhere. The choice is made
// (and its files checked) when the call is placed or answered, before anything
// is sent; the source and sink are opened when media flows.
import { join, resolve } from 'node:path'
import { mkdirSync } from 'node:fs'
import { createToneSource, createSilenceSource, createWavSource, createMicrophoneSource, type AudioSource } from '../media/audio/sources.js'
import { createNullSink, createSpeakerSink, createWavFileSink, type AudioSink } from '../media/audio/sinks.js'
import type { ParsedWav } from '../media/audio/wav.js'
import type { CallAudioOptions } from './call-types.js'
import { checkRecordFile, readPlayFile } from './audio-files.js'

/** The node's call settings: auto-answer, default audio source and sink, who may call. */
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

/** A call's audio, chosen and checked: the WAV to play is read already. */
export interface AudioPlan {
  source: { kind: 'tone', hz: number } | { kind: 'wav', path: string, wav: ParsedWav } | { kind: 'mic' } | { kind: 'silence' } | { kind: 'stream', source: AudioSource }
  /** This call's own recording file (checked); else the node's record dir or speaker, if any. */
  record?: string
  /** Where a library's call sends what it hears (instead of any file or speaker). */
  sink?: AudioSink
}

/** Chooses the call's audio and checks every file it names; throws a UserError saying what is wrong with which file. */
export function planAudio (audio: CallAudioOptions, defaults: CallDefaults): AudioPlan {
  if (audio.streams !== undefined) return { source: { kind: 'stream', source: audio.streams.source }, sink: audio.streams.sink }
  const tone = audio.tone ?? (audio.play === undefined ? defaults.tone : undefined)
  const play = tone === undefined ? audio.play ?? defaults.play : undefined
  const source: AudioPlan['source'] = tone !== undefined
    ? { kind: 'tone', hz: tone }
    : play !== undefined ? { kind: 'wav', path: play, wav: readPlayFile(play) } : defaults.mic === true ? { kind: 'mic' } : { kind: 'silence' }
  if (audio.record !== undefined) checkRecordFile(audio.record, audio.overwrite === true)
  return { source, record: audio.record }
}

export function sourceFor (plan: AudioPlan): AudioSource {
  const { source } = plan
  switch (source.kind) {
    case 'tone': return createToneSource({ frequency: source.hz })
    case 'wav': return createWavSource(source.wav, { loop: true, description: `wav ${source.path} (${source.wav.sampleRate} Hz, ${source.wav.channels} ch, looped)` })
    case 'mic': return createMicrophoneSource()
    case 'silence': return createSilenceSource()
    case 'stream': return source.source
  }
}

/** A recording that got no audio at all is removed when the call closes (see createWavFileSink). */
export function sinkFor (callId: string, plan: AudioPlan, defaults: CallDefaults): { sink: AudioSink, recording?: string } {
  if (plan.sink !== undefined) return { sink: plan.sink }
  if (plan.record !== undefined) return { sink: createWavFileSink(plan.record, { removeIfEmpty: true }), recording: plan.record }
  if (defaults.recordDir !== undefined) {
    mkdirSync(defaults.recordDir, { recursive: true })
    const recording = resolve(join(defaults.recordDir, `${callId}.wav`))
    return { sink: createWavFileSink(recording, { removeIfEmpty: true }), recording }
  }
  if (defaults.speaker === true) return { sink: createSpeakerSink() }
  return { sink: createNullSink() }
}
