#!/usr/bin/env node
// Drive a server's /chat routes with the real Vercel AI SDK client code (the `ai` package, v5
// UI message stream protocol) and check the stream strictly. Scenario and summary: see
// lib/harness.mjs and README.md. Actions:
//
//   {"action": "chat", "path": "/api/agents/ID/chat", "body": {...}, "text": "hi", "headers": {...}, "allowError": false}
//       One turn of useChat's core (AbstractChat with DefaultChatTransport): the user message
//       `text` is sent as useChat sends it, or `body` replaces the request body verbatim. The
//       result: the assistant UIMessage the client assembled (`message`), `chunkTypes`,
//       `finishReason`, the texts of `error` chunks (`errors`, only with allowError, when
//       useChat must end in status "error" with that text), useChat's `status` and the
//       `request` body sent.
//
//   {"action": "resume", "path": "/api/agents/ID/chat/RUN/stream"}
//       useChat's resumeStream() on a fresh chat (AbstractChat with DefaultChatTransport, its
//       reconnect request pointed at `path` by prepareReconnectToStreamRequest): a GET whose
//       stream must satisfy what a chat stream does. The result: the assistant UIMessage the
//       client assembled (`message`), `chunkTypes`, useChat's `status` and the `method` used.
//
// What a chat stream must satisfy:
//   1. HTTP 200, content-type text/event-stream, x-vercel-ai-ui-message-stream: v1.
//   2. Framing: one `data: <json>` line per event, ending with `data: [DONE]` (lib/wire.mjs).
//   3. Each event parsed and validated by the SDK itself (parseJsonEventStream with
//      uiMessageChunkSchema): unknown types, missing or mistyped fields fail.
//   4. Lifecycle: one `start` first and one `finish` last (a paused run, whose stream holds a
//      data-tool-call-approval or data-tool-call-suspended part, ends without `finish`, as
//      Mastra's, but with every part and step closed); content inside start-step ...
//      finish-step; every text / reasoning part opened by *-start is closed by *-end before its
//      step finishes; tool chunks in order (input-start, input-delta, input-available or
//      input-error, then one final output) with a consistent toolName and `dynamic`; no
//      `error` chunk unless allowError.
//   5. The SDK's readers agree: useChat's core ends "ready" without an error, the stand-alone
//      readUIMessageStream (terminateOnError) assembles the same parts, and the message passes
//      validateUIMessages.
import { isDeepStrictEqual } from 'node:util';
import {
  AbstractChat,
  DefaultChatTransport,
  UI_MESSAGE_STREAM_HEADERS,
  parseJsonEventStream,
  readUIMessageStream,
  uiMessageChunkSchema,
  validateUIMessages,
} from 'ai';
import { brief, expect, expectNoClientReports, fail, runScenario } from './lib/harness.mjs';
import { expectContentType, lastExchange, recordingFetch, sseData } from './lib/wire.mjs';

// ---------------------------------------------------------------------------------- the client

class ChatState {
  status = 'ready';
  error = undefined;
  messages = [];
  pushMessage = message => void (this.messages = [...this.messages, message]);
  popMessage = () => void (this.messages = this.messages.slice(0, -1));
  replaceMessage = (index, message) => void (this.messages = this.messages.with(index, structuredClone(message)));
  snapshot = value => structuredClone(value);
}

class Chat extends AbstractChat {
  constructor(init) {
    super({ ...init, state: new ChatState() });
  }
}

// ---------------------------------------------------------------------------------- schema

// Why the SDK's schema refused a chunk, in one line.
function schemaProblem(error, data) {
  const issues = error?.cause?.issues;
  if (error?.name === 'AI_JSONParseError' || !Array.isArray(issues)) return `${error?.message ?? error}: ${brief(data)}`;
  const describe = list => list.map(issue => `${issue.path.join('.') || '(chunk)'}: ${issue.message}`).join('; ');
  const union = issues.find(issue => issue.code === 'invalid_union');
  if (!union) return `${describe(issues)}: ${brief(data)}`;
  // Keep the union members whose `type` literal matched the chunk: their issues are the real ones.
  const matched = union.errors.filter(branch => branch.every(issue => issue.path[0] !== 'type'));
  const type = error.value?.type;
  if (!matched.length) return `no chunk type ${brief(type)} in the UI message stream protocol: ${brief(data)}`;
  return `a ${brief(type)} chunk that does not fit the schema (${matched.map(describe).join(' | ')}): ${brief(data)}`;
}

async function validatedChunks(bytes, events) {
  const chunks = [];
  const parsed = parseJsonEventStream({ stream: new Response(bytes).body, schema: uiMessageChunkSchema });
  for await (const result of parsed) {
    const n = chunks.length;
    expect(result.success, () => `event ${n}: ${schemaProblem(result.error, events[n])}`);
    chunks.push(result.value);
  }
  expect(chunks.length === events.length, `${events.length} events on the wire, the SDK parsed ${chunks.length}`);
  return chunks;
}

// ---------------------------------------------------------------------------------- lifecycle

const PARTS = { text: 'text', reasoning: 'reasoning' };
const STEP_CONTENT = /^(text|reasoning|tool-input|tool-output)-|^(source-url|source-document|file)$/;

const PAUSES = new Set(['data-tool-call-approval', 'data-tool-call-suspended']);

function checkLifecycle(chunks, allowError) {
  const open = { text: new Set(), reasoning: new Set() };
  const tools = new Map(); // toolCallId -> {toolName, dynamic, phase: input | ready | preliminary | done}
  let step = false;
  const last = chunks.length - 1;
  const paused = chunks.some(c => PAUSES.has(c.type)) && chunks.at(-1)?.type !== 'finish';
  for (const [i, chunk] of chunks.entries()) {
    const { type } = chunk;
    const at = `chunk ${i} (${type})`;
    expect((type === 'start') === (i === 0), `${at}: the stream must open with exactly one "start"`);
    expect((type === 'finish') === (i === last && !paused), `${at}: the stream must close with exactly one "finish"`);
    if (STEP_CONTENT.test(type)) expect(step, `${at}: outside start-step ... finish-step`);
    const [kind, phase] = type.split('-');
    if (Object.hasOwn(PARTS, kind)) {
      const ids = open[kind];
      if (phase === 'start') {
        expect(!ids.has(chunk.id), `${at}: ${kind} ${chunk.id} is already open`);
        ids.add(chunk.id);
      } else {
        expect(ids.has(chunk.id), `${at}: ${kind} ${brief(chunk.id)} is not open (no ${kind}-start, or already ended)`);
        if (phase === 'end') ids.delete(chunk.id);
      }
      continue;
    }
    const tool = tools.get(chunk.toolCallId);
    const dynamic = chunk.dynamic === true;
    switch (type) {
      case 'start-step':
        expect(!step, `${at}: the previous step is still open`);
        step = true;
        break;
      case 'finish-step':
      case 'finish':
        expect(type === 'finish' ? !step : step, type === 'finish' ? `${at}: a step is still open` : `${at}: no open step`);
        for (const [name, ids] of Object.entries(open)) expect(ids.size === 0, () => `${at}: ${name} ${[...ids].join(', ')} still open`);
        step = false;
        break;
      case 'tool-input-start':
        expect(!tool, `${at}: tool call ${chunk.toolCallId} already started`);
        tools.set(chunk.toolCallId, { toolName: chunk.toolName, dynamic, phase: 'input' });
        break;
      case 'tool-input-delta':
        expect(tool?.phase === 'input', `${at}: tool call ${brief(chunk.toolCallId)} is not streaming its input`);
        break;
      case 'tool-input-available':
      case 'tool-input-error':
        if (tool) {
          expect(tool.phase === 'input', `${at}: the input of ${chunk.toolCallId} is already complete`);
          expect(tool.toolName === chunk.toolName, `${at}: toolName ${chunk.toolName}, tool-input-start said ${tool.toolName}`);
          expect(tool.dynamic === dynamic, `${at}: "dynamic" differs from tool-input-start`);
        }
        tools.set(chunk.toolCallId, { toolName: chunk.toolName, dynamic, phase: 'ready' });
        break;
      case 'tool-output-available':
      case 'tool-output-error':
        expect(tool && ['ready', 'preliminary'].includes(tool.phase), () => `${at}: tool call ${brief(chunk.toolCallId)} has no complete input, or already an output`);
        expect(tool.dynamic === dynamic, `${at}: "dynamic" differs from the tool call's`);
        tool.phase = chunk.preliminary === true ? 'preliminary' : 'done';
        break;
      case 'error':
      case 'abort':
        expect(allowError, () => `${at}: ${brief(chunk)}`);
        break;
    }
  }
  for (const [id, tool] of tools) expect(tool.phase !== 'input', `tool call ${id} (${tool.toolName}) never completed its input`);
  if (paused) {
    expect(!step, 'the paused stream ends with its step open (no finish-step)');
    for (const [name, ids] of Object.entries(open)) expect(ids.size === 0, () => `the paused stream ends with ${name} ${[...ids].join(', ')} open`);
  }
}

// ---------------------------------------------------------------------------------- chat

async function assembleAlone(chunks, allowError) {
  let message;
  try {
    const stream = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(structuredClone(chunk));
        controller.close();
      },
    });
    for await (const update of readUIMessageStream({ stream, terminateOnError: !allowError })) message = update;
  } catch (error) {
    fail(`readUIMessageStream failed: ${error?.message ?? error}`);
  }
  return message;
}

async function chat(step, { base }) {
  const log = [];
  const errors = [];
  let finished;
  const transport = new DefaultChatTransport({
    api: new URL(step.path, base).href,
    headers: step.headers,
    fetch: recordingFetch(log),
    ...(step.body === undefined ? {} : { prepareSendMessagesRequest: () => ({ body: step.body }) }),
  });
  const client = new Chat({ transport, onError: error => errors.push(error), onFinish: result => void (finished = result) });
  await client.sendMessage({ text: step.text ?? 'hi' });
  const exchange = await lastExchange(log, step.path.split('?')[0]);
  expectNoClientReports();
  const marker = 'x-vercel-ai-ui-message-stream';
  expect(exchange.status === 200, () => `HTTP ${exchange.status}: ${brief(new TextDecoder().decode(exchange.body))}`);
  expectContentType(exchange, 'text/event-stream', 'chat stream');
  expect(exchange.headers.get(marker) === UI_MESSAGE_STREAM_HEADERS[marker], `header ${marker} is ${brief(exchange.headers.get(marker))}`);

  const events = sseData(exchange.body, 'chat stream');
  const chunks = await validatedChunks(exchange.body, events);
  checkLifecycle(chunks, step.allowError);
  const alone = await assembleAlone(chunks, step.allowError);

  const errorChunks = chunks.filter(c => c.type === 'error').map(c => c.errorText);
  if (errorChunks.length) {
    // useChat shows the stream's error: status "error" with the chunk's errorText.
    expect(client.status === 'error' && errorChunks.includes(client.error?.message), () => `useChat's core ended "${client.status}" with ${brief(client.error?.message)}`);
  } else {
    expect(client.status === 'ready' && !errors.length, () => `useChat's core ended "${client.status}": ${errors.map(e => e.message).join('; ')}`);
    expect(finished && !finished.isError && !finished.isAbort && !finished.isDisconnect, () => `useChat's onFinish reported ${brief(finished)}`);
  }
  const [user, message] = client.messages;
  expect(client.messages.length === 2 && message.role === 'assistant', () => `useChat holds ${brief(client.messages.map(m => m.role))}, not user + assistant`);
  expect(alone && isDeepStrictEqual(alone.parts, message.parts), () => `readUIMessageStream assembled ${brief(alone?.parts)}, useChat ${brief(message.parts)}`);
  try {
    await validateUIMessages({ messages: [user, message] });
  } catch (error) {
    fail(`the assembled message fails validateUIMessages: ${error?.message ?? error}`);
  }
  return {
    message,
    chunkTypes: chunks.map(c => c.type),
    finishReason: chunks.at(-1)?.finishReason ?? null,
    errors: errorChunks,
    status: client.status,
    request: JSON.parse(exchange.requestBody ?? 'null'),
  };
}

async function resume(step, { base }) {
  const log = [];
  const errors = [];
  const url = new URL(step.path, base).href;
  const transport = new DefaultChatTransport({
    api: new URL('/api/unused/chat', base).href,
    fetch: recordingFetch(log),
    prepareReconnectToStreamRequest: () => ({ api: url }),
  });
  const client = new Chat({ transport, onError: error => errors.push(error) });
  await client.resumeStream();
  const exchange = await lastExchange(log, step.path);
  expectNoClientReports();
  const marker = 'x-vercel-ai-ui-message-stream';
  expect(exchange.status === 200, () => `HTTP ${exchange.status}: ${brief(new TextDecoder().decode(exchange.body))}`);
  expectContentType(exchange, 'text/event-stream', 'resumed chat stream');
  expect(exchange.headers.get(marker) === UI_MESSAGE_STREAM_HEADERS[marker], `header ${marker} is ${brief(exchange.headers.get(marker))}`);
  const events = sseData(exchange.body, 'resumed chat stream');
  const chunks = await validatedChunks(exchange.body, events);
  checkLifecycle(chunks, false);
  const alone = await assembleAlone(chunks, false);
  expect(client.status === 'ready' && !errors.length, () => `useChat's core ended "${client.status}": ${errors.map(e => e.message).join('; ')}`);
  const [message] = client.messages;
  expect(client.messages.length === 1 && message.role === 'assistant', () => `useChat holds ${brief(client.messages.map(m => m.role))}, not one assistant message`);
  expect(alone && isDeepStrictEqual(alone.parts, message.parts), () => `readUIMessageStream assembled ${brief(alone?.parts)}, useChat ${brief(message.parts)}`);
  try {
    await validateUIMessages({ messages: [message] });
  } catch (error) {
    fail(`the assembled message fails validateUIMessages: ${error?.message ?? error}`);
  }
  return { message, chunkTypes: chunks.map(c => c.type), status: client.status, method: exchange.method };
}

await runScenario({
  name: 'aisdk',
  packages: ['ai'],
  actions: { chat, resume },
  setup: scenario => ({ base: scenario.base }),
});
