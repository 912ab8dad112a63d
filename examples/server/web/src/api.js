// Talks to the server's native API (DESIGN.md §3): the streaming chat endpoint and health.

/**
 * Parses server-sent events out of `text`; returns [events, rest] where `rest` is an
 * incomplete tail to prepend to the next chunk. Each event is {event, data}.
 */
export function parseSse(text) {
  const events = [];
  const blocks = text.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return [events, rest];
}

/**
 * POST /api/chat/stream with fetch + ReadableStream (EventSource cannot POST).
 * Calls onProgress(progress) per `progress` event; resolves with the ChatResponse.
 */
export async function askStreaming(body, onProgress, signal) {
  const res = await fetch('/api/chat/stream', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok || !(res.headers.get('content-type') || '').startsWith('text/event-stream')) {
    const payload = await res.json().catch(() => null);
    if (payload && payload.error) return payload;
    throw new Error(`HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let response = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    const [events, rest] = parseSse(done ? buffer + '\n\n' : buffer);
    buffer = rest;
    for (const e of events) {
      if (e.event === 'progress') onProgress(JSON.parse(e.data));
      else if (e.event === 'response') response = JSON.parse(e.data);
    }
    if (done) break;
  }
  if (!response) throw new Error('the stream ended without a response');
  return response;
}

/** GET /api/health → {status, services, ...}; throws on network errors (5 s timeout). */
export async function fetchHealth() {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 5000);
  try {
    const res = await fetch('/api/health', { signal: ctrl.signal, headers: { Accept: 'application/json' } });
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}
