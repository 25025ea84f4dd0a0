// What every voxmesh lab file shares: each builds its own lab and voxmesh network (vitest runs the
// lab's files one at a time, and a file that kills or restarts processes must not leave the next
// one a changed network), and tears both down after its tests.
import { afterAll, beforeAll } from 'vitest'
import { killAll } from '../helpers/processes.js'
import { createLab, destroyLab, labUnavailableReason } from './topology.js'
import { startLabVoxmesh, type LabVoxmesh } from './voxmesh-lab.js'

/** Why the lab cannot run here (printed once per file), or undefined when it can. */
export function labUnavailable (): string | undefined {
  const reason = labUnavailableReason()
  if (reason !== undefined) console.warn(`network lab SKIPPED: ${reason}`)
  return reason
}

/** Call inside the file's describe: builds the lab and starts voxmesh in it before its tests; returns the accessor of the running lab. */
export function useLabVoxmesh (): () => LabVoxmesh {
  let lab: LabVoxmesh | undefined
  beforeAll(async () => {
    createLab()
    lab = await startLabVoxmesh()
  }, 180_000)
  afterAll(async () => {
    await killAll()
    destroyLab()
    lab?.net.cleanup()
  })
  return () => {
    if (lab === undefined) throw new Error('the lab network did not start')
    return lab
  }
}
