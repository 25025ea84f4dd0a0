// The caller applies the callee's answer (the first one or a re-answer) and, when it was applied
// here rather than handed on to a browser page, tells the callee's device at once: its hold of our
// candidates then ends (node/media/session/candidate-gate.ts).
import type { Call } from '../call.js'
import type { Sender, SignalingContext } from './context.js'

/** Applies `sdp` to media session `generation`: what the media layer refused it for, or undefined when it took it. */
export function applyAnswer (ctx: SignalingContext, call: Call, from: Sender, sdp: string, generation: number): string | undefined {
  let appliedHere: boolean | void
  try {
    appliedHere = ctx.components.media.accept(call, sdp, generation)
  } catch (err) {
    return (err as Error).message
  }
  if (appliedHere !== false) void ctx.signal(call, { type: 'call-answer-applied', device: from.deviceKey, generation })
  return undefined
}
