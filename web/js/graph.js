// The live graph of a call: RTT, jitter, loss and bitrate of the last minute, one point a second.
import uPlot from '/vendor/uPlot.esm.js'

const POINTS = 60
const SERIES = [
  { label: 'RTT ms', stroke: '#3572c6', key: 'rttMs' },
  { label: 'jitter ms', stroke: '#e0a100', key: 'jitterMs' },
  { label: 'loss %', stroke: '#d33', key: 'lossPct' },
  { label: 'kbit/s', stroke: '#2b9e4b', key: 'bitrateKbps' }
]

export class CallGraph {
  constructor (element) {
    this.element = element
    this.plot = undefined
    this.data = [[], ...SERIES.map(() => [])]
  }

  add (stats) {
    const t = Date.now() / 1000
    this.data[0].push(t)
    SERIES.forEach((s, i) => this.data[i + 1].push(stats[s.key] ?? null))
    if (this.data[0].length > POINTS) for (const column of this.data) column.shift()
    if (this.plot === undefined) {
      this.plot = new uPlot({
        width: Math.max(280, this.element.clientWidth),
        height: 180,
        series: [{}, ...SERIES.map(s => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        axes: [{}, { size: 40 }]
      }, this.data, this.element)
    } else {
      this.plot.setData(this.data)
    }
  }

  clear () {
    this.plot?.destroy()
    this.plot = undefined
    this.data = [[], ...SERIES.map(() => [])]
  }
}
