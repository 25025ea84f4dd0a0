// The bench's own requests to the login server, each from its own client network.

let ipCounter = 0
/** A fresh client network per request, so the login server's per-network limiters never trip. */
function nextIp (): string {
  const n = ++ipCounter
  // The limiters count a whole /24: each request gets its own, for 65536 requests in a row.
  return `10.${(n >> 8) & 255}.${n & 255}.1`
}

/** POSTs with its own X-Forwarded-For; a request the network lost (not one the server answered) is tried again. */
export async function post<T> (url: string, path: string, body: unknown, expected: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let response: Response
    try {
      response = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': nextIp() },
        body: JSON.stringify(body)
      })
    } catch (err) {
      // undici reuses keep-alive sockets the server may just have closed ("other side closed").
      if (attempt < 3) continue
      throw new Error(`POST ${path}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`)
    }
    const text = await response.text()
    // A retried account creation whose first attempt did arrive.
    if (response.status === 409 && attempt > 1 && path === '/v1/accounts') return JSON.parse(text) as T
    if (response.status !== expected) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`)
    return JSON.parse(text) as T
  }
}
