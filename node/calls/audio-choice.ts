// Where a call's audio comes from and goes to: what the user asked for this
// call, else the node's defaults, else silence and nowhere.
import { join, resolve } from 'node:path'
import { mkdirSync } from 'node:fs'
import { createToneSource, createSilenceSource, createWavFileSource, createMicrophoneSource, type AudioSource } from '../media/audio/sources.js'
import { createNullSink, createSpeakerSink, createWavFileSink, type AudioSink } from '../media/audio/sinks.js'
import type { CallAudioOptions } from './call-types.js'

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

export function sourceFor (audio: CallAudioOptions, defaults: CallDefaults): AudioSource {
  if (audio.tone !== undefined) return createToneSource({ frequency: audio.tone })
  if (audio.play !== undefined) return createWavFileSource(audio.play, { loop: true })
  if (defaults.tone !== undefined) return createToneSource({ frequency: defaults.tone })
  if (defaults.play !== undefined) return createWavFileSource(defaults.play, { loop: true })
  if (defaults.mic === true) return createMicrophoneSource()
  return createSilenceSource()
}

export function sinkFor (callId: string, audio: CallAudioOptions, defaults: CallDefaults): { sink: AudioSink, recording?: string } {
  if (audio.record !== undefined) return { sink: createWavFileSink(audio.record), recording: audio.record }
  if (defaults.recordDir !== undefined) {
    mkdirSync(defaults.recordDir, { recursive: true })
    const recording = resolve(join(defaults.recordDir, `${callId}.wav`))
    return { sink: createWavFileSink(recording), recording }
  }
  if (defaults.speaker === true) return { sink: createSpeakerSink() }
  return { sink: createNullSink() }
}
