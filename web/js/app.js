// The web client's page: status, contacts with live presence, requests, conversations and calls,
// all through the node's control API and its event stream. Every change arrives as an event
// and is drawn from the state kept here; nothing is built from HTML strings (no injection).
import { ApiError, request, signIn, signOut, subscribe } from './api.js'
import { CallGraph } from './graph.js'
import { PAGE_ID, Phone } from './phone.js'

const $ = id => document.getElementById(id)
const state = { me: undefined, contacts: new Map(), requests: { incoming: [], outgoing: [] }, peer: undefined, messages: [], call: undefined }
const graph = new CallGraph($('graph'))
const phone = new Phone({ speaker: $('speaker'), onProblem: text => notice(text) })

function notice (text) {
  $('notice').textContent = text
  $('notice').hidden = text === ''
}

/** An element with text and attributes: the page's only way to make nodes. */
function el (tag, text, attributes = {}) {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value)
  return node
}

function button (text, onClick) {
  const node = el('button', text, { type: 'button' })
  node.addEventListener('click', event => { event.stopPropagation(); act(onClick) })
  return node
}

/** Runs a user action; its failure is said, not thrown away. */
async function act (action) {
  try { await action(); notice('') } catch (err) { notice(err instanceof ApiError ? err.message : `error: ${err.message}`) }
}

// --- status, contacts, requests ---

async function loadStatus () {
  showStatus(await request('GET', '/v1/status'))
}

function showStatus (status) {
  state.me = status
  $('me').textContent = state.me.user
  $('presence').value = state.me.presence === 'offline' ? 'online' : state.me.presence
  showRole(state.me.role)
  document.title = `voxmesh — ${state.me.user}`
}

function showRole (role) {
  state.me.role = role
  $('role').textContent = role
  $('supernode').checked = role === 'supernode'
}

async function loadContacts () {
  const { contacts } = await request('GET', '/v1/contacts')
  state.contacts = new Map(contacts.map(c => [c.username, c.status]))
  drawContacts()
}

async function loadRequests () {
  state.requests = await request('GET', '/v1/requests')
  drawRequests()
}

function drawContacts () {
  const list = $('contacts')
  list.replaceChildren(...[...state.contacts].sort(([a], [b]) => a.localeCompare(b)).map(([name, status]) => {
    const item = el('li', undefined, { 'data-user': name, 'data-status': status })
    if (name === state.peer) item.classList.add('selected')
    item.append(el('span', undefined, { class: 'dot' }), el('span', name, { class: 'name' }), el('small', status, { class: 'status' }))
    item.append(button('call', () => placeCall(name)))
    item.append(button('remove', async () => { await request('DELETE', `/v1/contacts/${encodeURIComponent(name)}`); state.contacts.delete(name); drawContacts() }))
    item.addEventListener('click', () => { void act(() => openConversation(name)) })
    return item
  }))
}

function drawRequests () {
  $('requests').replaceChildren(...state.requests.incoming.map(r => {
    const item = el('li', undefined, { 'data-from': r.from })
    item.append(el('span', `${r.from}${r.message === '' ? '' : `: ${r.message}`}`))
    item.append(button('accept', async () => { await request('POST', `/v1/contacts/${encodeURIComponent(r.from)}/accept`); await loadRequests(); await loadContacts() }))
    item.append(button('decline', async () => { await request('POST', `/v1/contacts/${encodeURIComponent(r.from)}/decline`); await loadRequests() }))
    return item
  }), ...state.requests.outgoing.map(r => el('li', `${r.to}: waiting for them to accept`)))
}

// --- conversations ---

async function openConversation (peer) {
  state.peer = peer
  $('peer-name').textContent = peer
  $('send').hidden = false
  state.messages = (await request('GET', `/v1/messages?with=${encodeURIComponent(peer)}&limit=200`)).messages
  drawContacts()
  drawMessages()
}

function drawMessages () {
  const list = $('messages')
  list.replaceChildren(...state.messages.map(m => {
    const item = el('li', m.text, { class: m.direction, 'data-id': m.id, 'data-state': m.state })
    const at = new Date(m.sentAt ?? m.writtenAt).toLocaleTimeString()
    item.append(el('small', m.direction === 'out' ? `${at} · ${m.state}` : at))
    return item
  }))
  list.scrollTop = list.scrollHeight
}

async function refreshConversation (peer) {
  if (state.peer === peer) await openConversation(peer)
}

// --- calls ---

async function placeCall (to) {
  const { callId } = await request('POST', '/v1/calls', { to, mediaPage: PAGE_ID })
  showCall({ callId, peer: to, direction: 'outgoing', state: 'calling' })
}

function showCall (call) {
  state.call = call
  $('call').hidden = false
  $('call-title').textContent = call.direction === 'outgoing' ? `Call to ${call.peer}` : `Call from ${call.peer}`
  $('call-state').textContent = call.state
  $('answer').hidden = $('decline').hidden = call.state !== 'ringing' || call.direction !== 'incoming'
  $('hangup').hidden = call.state === 'ringing' && call.direction === 'incoming'
  $('mute').hidden = call.state !== 'connected'
  $('mute').textContent = phone.muted ? 'unmute' : 'mute'
}

function showFigures (stats) {
  const figures = [['path', stats.path], ['RTT', stats.rttMs === null ? '—' : `${stats.rttMs} ms`], ['jitter', `${stats.jitterMs} ms`],
    ['loss', `${stats.lossPct} %`], ['bitrate', `${stats.bitrateKbps} kbit/s`], ['MOS', String(stats.mos)]]
  $('call-figures').replaceChildren(...figures.flatMap(([name, value]) => [el('dt', name), el('dd', value, { 'data-figure': name })]))
  graph.add(stats)
}

function endCall (message) {
  state.call = undefined
  $('call-state').textContent = message
  for (const id of ['answer', 'decline', 'mute', 'hangup']) $(id).hidden = true
  phone.setMuted(false)
}

function onCallEvent (event) {
  const call = state.call
  switch (event.event) {
    case 'call-incoming':
      if (call === undefined) showCall({ callId: event.callId, peer: event.from, direction: 'incoming', state: 'ringing' })
      return
    case 'call-ringing':
      if (call?.callId === event.callId) showCall({ ...call, state: 'ringing' })
      return
    case 'call-connected':
      if (call?.callId !== event.callId) return
      graph.clear()
      showCall({ ...call, state: 'connected' })
      $('call-state').textContent = `connected (${event.path})`
      return
    case 'call-stats':
      if (call?.callId === event.callId) showFigures(event)
      return
    case 'call-ended':
      // The node also sends `close`; a stream that reconnected just then would have missed it.
      phone.close(event.callId)
      if (call?.callId === event.callId) endCall(event.message)
  }
}

// --- events ---

function onEvent (event) {
  switch (event.event) {
    case 'presence':
      if (state.contacts.has(event.user)) { state.contacts.set(event.user, event.status); drawContacts() }
      return
    case 'message':
      void act(() => refreshConversation(event.from))
      if (state.peer !== event.from) notice(`new message from ${event.from}`)
      return
    case 'delivered': case 'receipt':
      void act(() => refreshConversation(event.to ?? event.from))
      return
    case 'contact-request': case 'contact-added': case 'contact-removed':
      void act(async () => { await loadRequests(); await loadContacts() })
      return
    case 'role':
      showRole(event.role)
      return
    case 'browser-media':
      void phone.handle(event)
      return
    default:
      if (event.event?.startsWith('call-')) onCallEvent(event)
  }
}

// --- wiring ---

function wire () {
  $('presence').addEventListener('change', () => act(() => request('PUT', '/v1/presence', { status: $('presence').value })))
  $('supernode').addEventListener('change', () => {
    const wanted = $('supernode').checked ? 'supernode' : 'host'
    $('supernode').disabled = true
    act(async () => {
      try {
        showRole((await request('PUT', '/v1/role', { role: wanted })).role)
      } catch (err) {
        showRole(state.me.role)
        throw err
      } finally {
        $('supernode').disabled = false
      }
    })
  })
  $('logout').addEventListener('click', () => act(async () => { await signOut(); location.reload() }))
  $('add-contact').addEventListener('submit', event => {
    event.preventDefault()
    const form = event.target
    act(async () => { await request('POST', '/v1/contacts', { username: form.username.value.trim() }); form.reset(); await loadRequests(); await loadContacts() })
  })
  $('dial').addEventListener('submit', event => {
    event.preventDefault()
    act(() => placeCall(event.target.number.value.trim()))
  })
  $('send').addEventListener('submit', event => {
    event.preventDefault()
    const form = event.target
    const peer = state.peer
    act(async () => { await request('POST', '/v1/messages', { to: peer, text: form.text.value }); form.reset(); await refreshConversation(peer) })
  })
  $('answer').addEventListener('click', () => act(async () => {
    await request('POST', '/v1/calls/answer', { callId: state.call.callId, mediaPage: PAGE_ID })
    showCall({ ...state.call, state: 'connecting' })
  }))
  $('decline').addEventListener('click', () => act(() => request('POST', '/v1/calls/decline', { callId: state.call.callId })))
  $('hangup').addEventListener('click', () => act(() => request('POST', '/v1/calls/hangup', { callId: state.call.callId })))
  $('mute').addEventListener('click', () => act(async () => {
    const muted = !phone.muted
    phone.setMuted(muted)
    await request('POST', '/v1/calls/mute', { callId: state.call.callId, muted })
    showCall(state.call)
  }))
}

/** The node's status once the password signed it in (another tab may have been first; the login server may be slow to answer). */
async function signInWith (password) {
  try {
    return await request('POST', '/v1/sign-in', { password })
  } catch (err) {
    if (err.code === 'signed_in') return await request('GET', '/v1/status')
    if (err.code !== 'login_server_wait') throw err
    notice(err.message)
    // The node keeps trying by itself: wait until it is up, or back to waiting for a password.
    for (;;) {
      await new Promise(resolve => setTimeout(resolve, 2000))
      const status = await request('GET', '/v1/status')
      if (status.waitingForSignIn === true) throw new ApiError(400, 'refused', 'the login server answered, but did not take that password: try again')
      if (status.state === undefined) return status
    }
  }
}

/** A node started without a password waits for it: the page asks, and the node logs in with it. */
function signedIn () {
  const main = document.querySelector('main')
  main.hidden = true
  $('sign-in').hidden = false
  $('sign-in-title').textContent = `Sign in as ${state.me.user}`
  return new Promise(resolve => {
    $('sign-in-form').addEventListener('submit', event => {
      event.preventDefault()
      const form = event.target
      act(async () => {
        const status = await signInWith(form.password.value)
        form.reset()
        $('sign-in').hidden = true
        main.hidden = false
        showStatus(status)
        resolve()
      })
    })
  })
}

async function start () {
  const login = /(?:^#|&)login=([A-Za-z0-9_-]+)/.exec(location.hash)
  let loginProblem
  if (login !== null) {
    // The token works once: drop it from the address bar and history before anything else.
    history.replaceState(null, '', location.pathname)
    try { await signIn(login[1]) } catch (err) { loginProblem = err.message }
  }
  try {
    await loadStatus()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      notice(loginProblem ?? 'Not signed in. Run `voxmesh open` where the node runs, and open the link it prints.')
      document.querySelector('main').hidden = true
      return
    }
    throw err
  }
  if (state.me.waitingForSignIn === true) await signedIn()
  wire()
  subscribe(onEvent, connection => {
    if (connection === 'open') notice('')
    else if (connection === 'closed') notice('Signed out (the session ended). Run `voxmesh open` for a new link.')
    else notice('lost the connection to the node; trying again')
  })
  await Promise.all([loadContacts(), loadRequests()])
  document.body.dataset.ready = 'true'
}

void start().catch(err => notice(`the page could not start: ${err.message}`))
