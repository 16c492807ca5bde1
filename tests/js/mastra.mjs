#!/usr/bin/env node
// Drive a server with the real Mastra JavaScript client (@mastra/client-js) and check what the
// client receives. Scenario and summary: see lib/harness.mjs and README.md. Actions:
//
//   {"action": "list", "agents": [ids], "workflows": [ids]}
//       client.listAgents() and client.listWorkflows(): JSON objects keyed by id holding the ids.
//   {"action": "agent-stream", "agent": id, "message": text or messages, "options": {...}, "allowError": false}
//       agent.stream() read with processDataStream(); the same bytes then go through the
//       client's own message assembler (what stream() runs on the response).
//   {"action": "workflow", "workflow": id, "inputData": {...}, "resume": [{"resumeData": {...}, "step": id}], "allowError": false}
//       workflow.createRun(), run.stream(), then run.resumeStream() once per entry of "resume"
//       (each on a run that the previous stream left suspended; "step" defaults to the suspended step).
//   {"action": "approval", "agent": id, "message": text, "options": {...}, "answer": "approve" | "decline" | "resume", "reason": text, "resumeData": {...}}
//       agent.stream() that must end paused (tool-call-approval or tool-call-suspended, no finish),
//       agent.listSuspendedRuns() listing it, then agent.approveToolCall(), declineToolCall() or
//       resumeStream() read with processDataStream(): the same runId, no start, ends with finish;
//       afterwards listSuspendedRuns() no longer lists the run.
//   {"action": "network", "agent": id, "message": text, "maxSteps": n, "thread": id, "resource": id, "allowError": false}
//       agent.network() read with processDataStream().
//   {"action": "observe", "agent": id, "message": text, "offset": n, "toolStream": false}
//   {"action": "observe", "workflow": id, "inputData": {...}, "offset": n}
//       run to the end (agent.stream() / createRun() + run.stream()), then re-attach with
//       agents(id).observe({runId, offset}) / run.observe({offset}): the client must deliver
//       exactly the run's chunks from offset on (all of them when offset is omitted).
//       With "toolStream", the agent's chunks follow the tool-stream rules below.
//   {"action": "tool-stream", "agent": id, "message": text, "options": {...}, "allowError": false}
//       agent.stream() of an agent whose tools write while they run, read with
//       processDataStream(). Besides the agent's own chunks (the agent-stream rules), it holds
//       tool-output chunks ({type, runId: the run's, from: "USER", payload: {output, toolCallId,
//       toolName}}) and custom data chunks without the envelope ({type, data?, id?, ...}, no
//       runId, from or payload), each inside an open tool call (after its tool-call, before
//       its tool-result); the client must deliver every one as sent, and its message assembler
//       must read the same bytes without complaint. The result lists the tool outputs
//       (`outputs`, their payloads) and the data chunks (`data`) the client delivered.
//
// Every chunk is exactly {type, runId, from, payload} (except the data chunks of tool-stream);
// the wire framing is checked on a copy of the bytes, and the chunks the client delivered must
// be the events on the wire, one for one (it skips what it cannot read). Anything the client
// reports through console.error (its own parse or assembly failures) fails the step, after the
// checks above had their say.
import { isDeepStrictEqual } from 'node:util';
import { MastraClient } from '@mastra/client-js';
import { brief, expect, expectNoClientReports, fail, isObject, runScenario, takeClientReports } from './lib/harness.mjs';
import { expectContentType, jsonRecords, lastExchange, recordingFetch, sseData } from './lib/wire.mjs';

const SOURCES = new Set(['AGENT', 'WORKFLOW', 'NETWORK', 'USER', 'SYSTEM']);

function expectEnvelope(chunk, where) {
  expect(isObject(chunk), () => `${where}: not a JSON object: ${brief(chunk)}`);
  const keys = Object.keys(chunk).sort().join(',');
  expect(keys === 'from,payload,runId,type', () => `${where}: keys must be exactly type, runId, from, payload; got ${keys}`);
  expect(typeof chunk.type === 'string' && chunk.type, `${where}: "type" must be a non-empty string`);
  expect(typeof chunk.runId === 'string' && chunk.runId, `${where}: "runId" must be a non-empty string`);
  expect(SOURCES.has(chunk.from), () => `${where}: "from" must be one of ${[...SOURCES].join('|')}, got ${brief(chunk.from)}`);
  expect(isObject(chunk.payload), () => `${where}: "payload" must be a JSON object, got ${brief(chunk.payload)}`);
}

// What the client delivered must be what was on the wire, event for event.
function expectSameChunks(delivered, wire, what) {
  expect(delivered.length === wire.length, `${what}: ${wire.length} events on the wire, the client delivered ${delivered.length}`);
  for (const [i, chunk] of delivered.entries())
    expect(isDeepStrictEqual(chunk, wire[i]), () => `${what}: chunk ${i} delivered as ${brief(chunk)} but sent as ${brief(wire[i])}`);
}

// A chunk of a stream whose tools write: an enveloped chunk, or a custom data chunk without
// the envelope (what Mastra's writer.custom() emits). Returns "data", "output" or "agent".
function toolStreamChunk(chunk, where) {
  expect(isObject(chunk), () => `${where}: not a JSON object: ${brief(chunk)}`);
  if (!['runId', 'from', 'payload'].some(key => Object.hasOwn(chunk, key))) {
    expect(typeof chunk.type === 'string' && chunk.type, `${where}: a data chunk needs a non-empty string "type"`);
    return 'data';
  }
  expectEnvelope(chunk, where);
  return chunk.type === 'tool-output' ? 'output' : 'agent';
}

async function readSse(context, response, suffix, what, check = expectEnvelope) {
  const chunks = [];
  await response.processDataStream({ onChunk: async chunk => void chunks.push(chunk) });
  const exchange = await lastExchange(context.log, suffix);
  expect(exchange.status === 200, `${what}: HTTP ${exchange.status}`);
  expectContentType(exchange, 'text/event-stream', what);
  const wire = sseData(exchange.body, what).map((data, i) => {
    try {
      return JSON.parse(data);
    } catch (error) {
      return fail(`${what}: event ${i} is not JSON (${error.message}): ${brief(data)}`);
    }
  });
  expectSameChunks(chunks, wire, what);
  chunks.forEach((chunk, i) => check(chunk, `${what} chunk ${i}`));
  return { chunks, exchange };
}

// ---------------------------------------------------------------------------------- list

async function list(step, { client }) {
  const agents = await client.listAgents();
  expect(isObject(agents), () => `GET /api/agents must answer an object keyed by agent id, got ${brief(agents)}`);
  const workflows = await client.listWorkflows();
  expect(isObject(workflows), () => `GET /api/workflows must answer an object keyed by workflow id, got ${brief(workflows)}`);
  for (const [kind, found, wanted] of [['agent', agents, step.agents], ['workflow', workflows, step.workflows]]) {
    for (const [id, entry] of Object.entries(found)) expect(isObject(entry), () => `${kind} ${id}: not an object: ${brief(entry)}`);
    for (const id of wanted ?? []) expect(Object.hasOwn(found, id), () => `${kind} ${brief(id)} is not listed (listed: ${Object.keys(found).join(', ')})`);
  }
  return { agents: Object.keys(agents), workflows: Object.keys(workflows) };
}

// ---------------------------------------------------------------------------------- agent stream

// The order rules of an agent stream: the ones the client's assembler relies on, and Mastra's
// framing (start ... step-start ... step-finish ... finish).
function checkAgentChunks(chunks, allowError) {
  expect(chunks.length > 0, 'the stream delivered no chunks');
  const runId = chunks[0].runId;
  const open = { text: new Map(), reasoning: new Map() };
  const content = { text: '', reasoning: '' };
  const inputs = new Map(); // toolCallId -> streamed argument text
  const calls = new Map(); // toolCallId -> {toolCallId, toolName, args, result | error}
  let step = false;
  for (const [i, { type, runId: id, from, payload }] of chunks.entries()) {
    const at = `chunk ${i} (${type})`;
    expect(id === runId, `${at}: runId ${id} differs from the stream's ${runId}`);
    expect(from === 'AGENT', `${at}: "from" must be AGENT, got ${from}`);
    expect((type === 'start') === (i === 0), `${at}: the stream must open with exactly one "start"`);
    expect((type === 'finish') === (i === chunks.length - 1), `${at}: the stream must close with exactly one "finish"`);
    const [kind, phase] = type.split('-');
    if (kind in open && ['start', 'delta', 'end'].includes(phase) && type.split('-').length === 2) {
      expect(step, `${at}: outside step-start ... step-finish`);
      expect(typeof payload.id === 'string', `${at}: payload.id must be a string`);
      const parts = open[kind];
      if (phase === 'start') {
        expect(!parts.has(payload.id), `${at}: ${kind} ${payload.id} is already open`);
        parts.set(payload.id, '');
      } else {
        expect(parts.has(payload.id), `${at}: ${kind} ${brief(payload.id)} was not opened by ${kind}-start`);
        if (phase === 'delta') {
          expect(typeof payload.text === 'string', `${at}: payload.text must be a string`);
          content[kind] += payload.text;
        } else parts.delete(payload.id);
      }
      continue;
    }
    switch (type) {
      case 'step-start':
        expect(!step, `${at}: a step is already open`);
        expect(typeof payload.messageId === 'string', `${at}: payload.messageId must be a string`);
        step = true;
        break;
      case 'step-finish':
        expect(step, `${at}: no open step`);
        for (const [name, parts] of Object.entries(open)) expect(parts.size === 0, () => `${at}: ${name} ${[...parts.keys()].join(', ')} not closed`);
        step = false;
        break;
      case 'tool-call-input-streaming-start':
        expect(typeof payload.toolCallId === 'string' && typeof payload.toolName === 'string', `${at}: needs payload.toolCallId and payload.toolName`);
        expect(!inputs.has(payload.toolCallId), `${at}: tool call ${payload.toolCallId} already started`);
        inputs.set(payload.toolCallId, '');
        break;
      case 'tool-call-delta':
        expect(inputs.has(payload.toolCallId), `${at}: no tool-call-input-streaming-start for ${brief(payload.toolCallId)}`);
        expect(typeof payload.argsTextDelta === 'string', `${at}: payload.argsTextDelta must be a string`);
        inputs.set(payload.toolCallId, inputs.get(payload.toolCallId) + payload.argsTextDelta);
        break;
      case 'tool-call-input-streaming-end':
        expect(inputs.has(payload.toolCallId), `${at}: no tool-call-input-streaming-start for ${brief(payload.toolCallId)}`);
        break;
      case 'tool-call': {
        expect(step, `${at}: outside step-start ... step-finish`);
        expect(typeof payload.toolCallId === 'string' && typeof payload.toolName === 'string', `${at}: needs payload.toolCallId and payload.toolName`);
        expect(!calls.has(payload.toolCallId), `${at}: a second tool-call ${payload.toolCallId}`);
        const streamed = inputs.get(payload.toolCallId);
        if (streamed) {
          let parsed;
          try {
            parsed = JSON.parse(streamed);
          } catch (error) {
            fail(`${at}: the streamed arguments are not JSON (${error.message}): ${brief(streamed)}`);
          }
          expect(isDeepStrictEqual(parsed, payload.args), () => `${at}: args ${brief(payload.args)} differ from the streamed ${brief(streamed)}`);
        }
        calls.set(payload.toolCallId, { toolCallId: payload.toolCallId, toolName: payload.toolName, args: payload.args });
        break;
      }
      case 'tool-result':
      case 'tool-error': {
        const call = calls.get(payload.toolCallId);
        expect(call, `${at}: no earlier tool-call ${brief(payload.toolCallId)}`);
        expect(payload.toolName === call.toolName, `${at}: toolName ${brief(payload.toolName)}, the call's is ${brief(call.toolName)}`);
        expect(!('result' in call || 'error' in call), `${at}: tool call ${payload.toolCallId} already has an outcome`);
        if (type === 'tool-result') call.result = payload.result;
        else {
          expect(allowError, () => `${at}: ${brief(payload.error)}`);
          call.error = payload.error;
        }
        break;
      }
      case 'error':
        expect(allowError, () => `${at}: ${brief(payload.error)}`);
        break;
      case 'finish':
        expect(!step, `${at}: a step is still open`);
        expect(typeof payload.stepResult?.reason === 'string', `${at}: payload.stepResult.reason must be a string`);
        break;
    }
  }
  const finish = chunks.at(-1).payload;
  return {
    runId,
    chunkTypes: chunks.map(c => c.type),
    text: content.text,
    reasoning: content.reasoning,
    finishReason: finish.stepResult.reason,
    usage: finish.output?.usage ?? null,
    toolCalls: [...calls.values()],
  };
}

async function assemble(agent, bytes) {
  let finished;
  await agent.processChatResponse_vNext({
    stream: new Response(bytes).body,
    update: () => {},
    onFinish: result => void (finished = result),
  });
  expectNoClientReports();
  expect(finished, "the client's message assembler did not finish");
  const { message, finishReason } = finished;
  return {
    messageId: message.id,
    content: message.content,
    finishReason,
    parts: message.parts.map(p => p.type),
    toolInvocations: (message.toolInvocations ?? []).map(({ toolName, state, args, result }) => ({ toolName, state, args, result })),
  };
}

async function agentStream(step, context) {
  const agent = context.client.getAgent(step.agent);
  const response = await agent.stream(step.message ?? 'Hello', step.options ?? {});
  const { chunks, exchange } = await readSse(context, response, `/agents/${step.agent}/stream`, 'agent stream');
  const summary = checkAgentChunks(chunks, step.allowError);
  expectNoClientReports();
  const client = await assemble(agent, exchange.body);
  expect(client.content === summary.text, () => `assembled text ${brief(client.content)} differs from the text deltas ${brief(summary.text)}`);
  expect(client.finishReason === summary.finishReason, `assembled finishReason ${client.finishReason}, finish chunk ${summary.finishReason}`);
  for (const call of summary.toolCalls.filter(c => 'result' in c)) {
    const found = client.toolInvocations.find(t => t.toolName === call.toolName && t.state === 'result');
    expect(found && isDeepStrictEqual(found.result, call.result), () => `the assembled message lacks ${call.toolName}'s result ${brief(call.result)}`);
  }
  return { ...summary, client };
}

// ---------------------------------------------------------------------------------- tool stream

// The tool outputs and data chunks of a stream sit inside open tool calls; the rest is an
// ordinary agent stream.
function checkToolStream(chunks, allowError) {
  expect(chunks.length > 0, 'the stream delivered no chunks');
  const kinds = chunks.map((chunk, i) => toolStreamChunk(chunk, `chunk ${i}`));
  const runId = chunks[0].runId;
  const open = new Map(); // toolCallId -> toolName, for calls without an outcome yet
  const outputs = [];
  const data = [];
  for (const [i, chunk] of chunks.entries()) {
    const at = `chunk ${i} (${chunk.type})`;
    if (kinds[i] === 'agent') {
      if (chunk.type === 'tool-call') open.set(chunk.payload.toolCallId, chunk.payload.toolName);
      else if (chunk.type === 'tool-result' || chunk.type === 'tool-error') open.delete(chunk.payload.toolCallId);
      continue;
    }
    expect(open.size > 0, `${at}: outside every tool call (after its tool-call, before its outcome)`);
    if (kinds[i] === 'data') {
      data.push(chunk);
      continue;
    }
    const { payload } = chunk;
    expect(chunk.runId === runId, `${at}: runId ${chunk.runId} differs from the stream's ${runId}`);
    expect(chunk.from === 'USER', `${at}: "from" must be USER, got ${chunk.from}`);
    expect(Object.hasOwn(payload, 'output'), `${at}: payload.output is missing`);
    expect(open.has(payload.toolCallId) && open.get(payload.toolCallId) === payload.toolName, () => `${at}: no open call ${brief(payload.toolCallId)} of ${brief(payload.toolName)}`);
    outputs.push(payload);
  }
  const summary = checkAgentChunks(chunks.filter((_, i) => kinds[i] === 'agent'), allowError);
  return { ...summary, chunkTypes: chunks.map(c => c.type), outputs, data };
}

async function toolStream(step, context) {
  const agent = context.client.getAgent(step.agent);
  const response = await agent.stream(step.message ?? 'Hello', step.options ?? {});
  const { chunks, exchange } = await readSse(context, response, `/agents/${step.agent}/stream`, 'tool stream', toolStreamChunk);
  const summary = checkToolStream(chunks, step.allowError);
  expectNoClientReports();
  const client = await assemble(agent, exchange.body);
  expect(client.content === summary.text, () => `assembled text ${brief(client.content)} differs from the text deltas ${brief(summary.text)}`);
  expect(client.finishReason === summary.finishReason, `assembled finishReason ${client.finishReason}, finish chunk ${summary.finishReason}`);
  return { ...summary, client };
}

// ---------------------------------------------------------------------------------- workflow

const STEP_ENDS = new Set(['workflow-step-result', 'workflow-step-suspended']);

function checkWorkflowChunks(chunks, runId, allowError, what) {
  expect(chunks.length > 0, `${what}: no chunks`);
  const started = new Set();
  const steps = {};
  let suspendedStep;
  for (const [i, { type, runId: id, from, payload }] of chunks.entries()) {
    const at = `${what} chunk ${i} (${type})`;
    expect(id === runId, `${at}: runId ${id} is not the run's ${runId}`);
    expect((type === 'workflow-start') === (i === 0), `${at}: the stream must open with exactly one workflow-start`);
    expect((type === 'workflow-finish') === (i === chunks.length - 1), `${at}: the stream must close with exactly one workflow-finish`);
    if (type.startsWith('workflow-') && type !== 'workflow-step-output') expect(from === 'WORKFLOW', `${at}: "from" must be WORKFLOW, got ${from}`);
    if (type === 'workflow-step-start') {
      expect(!started.has(payload.id), `${at}: step ${payload.id} started twice`);
      started.add(payload.id);
    }
    if (STEP_ENDS.has(type) || type === 'workflow-step-waiting') expect(started.has(payload.id), `${at}: step ${brief(payload.id)} was not started`);
    if (STEP_ENDS.has(type)) {
      started.delete(payload.id);
      const { status, output, suspendPayload } = payload;
      steps[payload.id] = { status, output, suspendPayload };
    }
    if (type === 'workflow-step-suspended') suspendedStep = payload.id;
  }
  const finish = chunks.at(-1).payload;
  const status = finish.workflowStatus;
  expect(typeof status === 'string', `${what}: workflow-finish needs payload.workflowStatus`);
  expect(status !== 'failed' || allowError, () => `${what}: the workflow failed: ${brief(finish.error ?? finish)}`);
  if (status === 'success') expect(started.size === 0, () => `${what}: steps ${[...started].join(', ')} started but never ended`);
  if (status === 'suspended') expect(suspendedStep, `${what}: status suspended but no workflow-step-suspended`);
  return {
    runId,
    chunkTypes: chunks.map(c => c.type),
    status,
    suspendedStep: suspendedStep ?? null,
    result: finish.finalWorkflowResult ?? null,
    usage: finish.output?.usage ?? null,
    steps,
  };
}

async function readRecords(context, open, suffix, runId, allowError, what) {
  const stream = await open();
  const chunks = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (error) {
    fail(`${what}: the client's reader failed: ${error.message}`);
  }
  const exchange = await lastExchange(context.log, suffix);
  expect(exchange.status === 200, `${what}: HTTP ${exchange.status}`);
  expectSameChunks(chunks, jsonRecords(exchange.body, what), what);
  chunks.forEach((chunk, i) => expectEnvelope(chunk, `${what} chunk ${i}`));
  return checkWorkflowChunks(chunks, runId, allowError, what);
}

async function workflow(step, context) {
  const id = step.workflow;
  const run = await context.client.getWorkflow(id).createRun();
  expect(typeof run.runId === 'string' && run.runId, () => `create-run must answer {"runId": "<string>"}, got runId ${brief(run.runId)}`);
  let last = await readRecords(context, () => run.stream({ inputData: step.inputData ?? {} }), `/workflows/${id}/stream`, run.runId, step.allowError, 'workflow stream');
  const streams = [last];
  for (const [i, resume] of (step.resume ?? []).entries()) {
    expect(last.status === 'suspended', `resume ${i}: the run is ${last.status}, not suspended`);
    const resumed = resume.step ?? last.suspendedStep;
    last = await readRecords(
      context,
      () => run.resumeStream({ step: resumed, resumeData: resume.resumeData }),
      `/workflows/${id}/resume-stream`,
      run.runId,
      step.allowError,
      `resume stream ${i}`,
    );
    streams.push({ step: resumed, ...last });
  }
  return { runId: run.runId, streams };
}

// ---------------------------------------------------------------------------------- approval

const PAUSES = new Set(['tool-call-approval', 'tool-call-suspended']);

async function approval(step, context) {
  const agent = context.client.getAgent(step.agent);
  const response = await agent.stream(step.message ?? 'Hello', step.options ?? {});
  const { chunks } = await readSse(context, response, `/agents/${step.agent}/stream`, 'paused stream');
  expect(chunks.length > 0 && chunks[0].type === 'start', 'the paused stream must open with start');
  const pause = chunks.at(-1);
  expect(PAUSES.has(pause.type), () => `the paused stream must end with a pause chunk, got ${pause.type}`);
  expect(!chunks.some(c => c.type === 'finish' || c.type === 'step-finish'), 'a paused stream has no step-finish or finish');
  const { runId } = pause;
  const { toolCallId } = pause.payload;
  expect(typeof toolCallId === 'string', 'the pause chunk needs payload.toolCallId');
  expect(typeof pause.payload.resumeSchema === 'string' || pause.type === 'tool-call-suspended', 'tool-call-approval needs a resumeSchema string');
  const listed = await agent.listSuspendedRuns({ perPage: 50, page: 0 });
  expect(isObject(listed) && Array.isArray(listed.runs) && typeof listed.total === 'number', () => `listSuspendedRuns gave ${brief(listed)}`);
  const entry = listed.runs.find(r => r.runId === runId);
  expect(entry, () => `listSuspendedRuns does not list run ${runId}: ${brief(listed)}`);
  let resumed;
  let route;
  if (step.answer === 'decline') {
    route = 'decline-tool-call';
    resumed = await agent.declineToolCall({ runId, toolCallId, ...(step.reason === undefined ? {} : { reason: step.reason }) });
  } else if (step.answer === 'resume') {
    route = 'resume-stream';
    resumed = await agent.resumeStream(step.resumeData ?? {}, { runId, toolCallId });
  } else {
    route = 'approve-tool-call';
    resumed = await agent.approveToolCall({ runId, toolCallId });
  }
  const { chunks: after, exchange } = await readSse(context, resumed, `/agents/${step.agent}/${route}`, 'resumed stream');
  expect(after.length > 0 && after[0].type !== 'start', 'the resumed stream has no start');
  expect(after.at(-1).type === 'finish', () => `the resumed stream must end with finish, got ${after.at(-1).type}`);
  for (const [i, chunk] of after.entries()) expect(chunk.runId === runId, `resumed chunk ${i}: runId ${chunk.runId} is not the paused run's ${runId}`);
  // client-js 1.47 also feeds the resumed stream to its message assembler, which has not seen
  // the tool-call (it was in the paused stream) and reports it; Mastra's own resumed streams
  // open with tool-result the same way. The chunks were delivered (checked above).
  const assemblerReports = takeClientReports(/tool_result must be preceded by a tool_call/);
  expectNoClientReports();
  const later = await agent.listSuspendedRuns();
  expect(!later.runs.some(r => r.runId === runId), `run ${runId} is still listed after it was resumed`);
  const text = after.filter(c => c.type === 'text-delta').map(c => c.payload.text).join('');
  return {
    runId,
    pausedTypes: chunks.map(c => c.type),
    pause: pause.payload,
    listed: entry,
    total: listed.total,
    assemblerReports: assemblerReports.length,
    request: exchange.requestBody === undefined ? null : JSON.parse(exchange.requestBody),
    resumedTypes: after.map(c => c.type),
    first: after[0].payload,
    text,
    usage: after.at(-1).payload.output?.usage ?? null,
  };
}

// ---------------------------------------------------------------------------------- network

async function network(step, context) {
  const options = {
    memory: { thread: step.thread ?? `thread-${Date.now()}`, resource: step.resource ?? 'js-clients' },
    ...(step.maxSteps === undefined ? {} : { maxSteps: step.maxSteps }),
  };
  const response = await context.client.getAgent(step.agent).network(step.message ?? 'Hello', options);
  const { chunks } = await readSse(context, response, `/agents/${step.agent}/network`, 'network stream');
  expect(chunks.length > 0, 'the network stream delivered no chunks');
  const runId = chunks[0].runId;
  for (const [i, { type, runId: id, payload }] of chunks.entries()) {
    expect(id === runId, `chunk ${i} (${type}): runId ${id} differs from the network run's ${runId}`);
    if (type === 'error' || type.endsWith('-error')) expect(step.allowError, () => `chunk ${i} (${type}): ${brief(payload)}`);
  }
  const last = chunks.at(-1);
  expect(last.type === 'network-execution-event-finish', `the last chunk is ${last.type}, not network-execution-event-finish`);
  const { isComplete, iteration, result, usage } = last.payload;
  return { runId, chunkTypes: chunks.map(c => c.type), isComplete, iteration, result: result ?? null, usage: usage ?? null };
}

// ---------------------------------------------------------------------------------- observe

async function observe(step, context) {
  const offset = step.offset;
  const from = offset ?? 0;
  if (step.workflow !== undefined) {
    const id = step.workflow;
    const run = await context.client.getWorkflow(id).createRun();
    const whole = await readRecords(context, () => run.stream({ inputData: step.inputData ?? {} }), `/workflows/${id}/stream`, run.runId, false, 'workflow stream');
    const again = await run.observe(offset === undefined ? undefined : { offset });
    const chunks = [];
    for await (const chunk of again) chunks.push(chunk);
    const exchange = await lastExchange(context.log, `/workflows/${id}/observe`);
    expect(exchange.status === 200, `workflow observe: HTTP ${exchange.status}`);
    expectSameChunks(chunks, jsonRecords(exchange.body, 'workflow observe'), 'workflow observe');
    expect(
      isDeepStrictEqual(chunks.map(c => c.type), whole.chunkTypes.slice(from)),
      () => `workflow observe from ${from} delivered ${brief(chunks.map(c => c.type))}, the run had ${brief(whole.chunkTypes)}`,
    );
    return { runId: run.runId, chunkTypes: chunks.map(c => c.type), offset: from };
  }
  const agent = context.client.getAgent(step.agent);
  const check = step.toolStream ? toolStreamChunk : expectEnvelope;
  const first = await agent.stream(step.message ?? 'Hello', {});
  const { chunks: whole } = await readSse(context, first, `/agents/${step.agent}/stream`, 'agent stream', check);
  if (step.toolStream) checkToolStream(whole, false);
  const runId = whole[0].runId;
  const params = offset === undefined ? { runId } : { runId, offset };
  const response = await agent.observe(params);
  const { chunks } = await readSse(context, response, `/agents/${step.agent}/observe`, 'agent observe', check);
  expectNoClientReports();
  expect(
    isDeepStrictEqual(chunks, whole.slice(from)),
    () => `observe from ${from} delivered ${chunks.length} chunks, the run had ${whole.length}: ${brief(chunks.map(c => c.type))}`,
  );
  return { runId, chunkTypes: chunks.map(c => c.type), offset: from };
}

await runScenario({
  name: 'mastra',
  packages: ['@mastra/client-js'],
  actions: { list, 'agent-stream': agentStream, 'tool-stream': toolStream, workflow, network, approval, observe },
  setup: scenario => {
    const log = [];
    return { log, client: new MastraClient({ baseUrl: scenario.base, retries: 0, fetch: recordingFetch(log) }) };
  },
});
