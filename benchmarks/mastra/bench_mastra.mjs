// Mastra's own agent on the scenarios of benchmarks/bench_peers.py: a 1-token run, N text tokens
// in one model call (every fullStream chunk read), and a tool loop (model -> tool -> model, 50
// tokens). The model is the AI SDK's MockLanguageModelV2 streaming pre-built v2 parts.
//
// Uses only the published npm packages (package.json beside this file; @mastra/core wants Node
// >= 22.13). In a scratch directory outside the repository:
//   cp benchmarks/mastra/package.json benchmarks/mastra/bench_mastra.mjs "$dir" && cd "$dir"
//   npm install && node bench_mastra.mjs [--reps 9] [--tokens 1000 20000] > bench_mastra.json
// then, from the repository: python benchmarks/bench_peers.py --mastra-json "$dir/bench_mastra.json"
import { performance } from "node:perf_hooks";
import process from "node:process";
import { createRequire } from "node:module";
import { Agent } from "@mastra/core/agent";
import { createTool } from "@mastra/core/tools";
import { MockLanguageModelV2 } from "ai/test";
import { z } from "zod";

const TOKEN = "tok ";
const TOOL_TOKENS = 50;
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const values = [];
  for (let i = at + 1; i < args.length && !args[i].startsWith("--"); i++) values.push(Number(args[i]));
  return values;
};
const reps = option("--reps", [9])[0];
const tokenCounts = option("--tokens", [1000, 20000]);

const usage = (o) => ({ inputTokens: 5, outputTokens: o, totalTokens: 5 + o });
const textParts = (tokens) => [
  { type: "stream-start", warnings: [] },
  { type: "text-start", id: "t" },
  ...Array.from({ length: tokens }, () => ({ type: "text-delta", id: "t", delta: TOKEN })),
  { type: "text-end", id: "t" },
  { type: "finish", finishReason: "stop", usage: usage(tokens) },
];
const toolParts = [
  { type: "stream-start", warnings: [] },
  { type: "tool-call", toolCallId: "call-1", toolName: "weather", input: '{"city": "Paris"}' },
  { type: "finish", finishReason: "tool-calls", usage: usage(5) },
];
// Every part enqueued at once (no timers), as the Python fake models do.
const streamOf = (parts) =>
  new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });

const weather = createTool({
  id: "weather",
  description: "Current weather for a city.",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, temp: 21 }),
});

function makeRun(kind, tokens) {
  const text = textParts(tokens);
  const model = new MockLanguageModelV2({
    doStream: async ({ prompt }) => {
      const afterTool = prompt.some((message) => message.role === "tool");
      return { stream: streamOf(kind === "tool" && !afterTool ? toolParts : text) };
    },
  });
  const agent = new Agent({
    id: "bench",
    name: "bench",
    instructions: "",
    model,
    tools: kind === "tool" ? { weather } : {},
  });
  return async () => {
    const output = await agent.stream("go", { maxSteps: 5 });
    let count = 0;
    for await (const _chunk of output.fullStream) count++;
    return count;
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const batch = (kind, tokens) => (kind === "tool" ? 10 : tokens === 1 ? 30 : Math.max(1, Math.floor(3000 / tokens)));

const scenarios = [["text", 1], ...tokenCounts.map((n) => ["text", n]), ["tool", TOOL_TOKENS]];
const runs = new Map();
const cpuSamples = new Map();
const wallSamples = new Map();
const events = new Map();
for (const [kind, tokens] of scenarios) {
  const key = `${kind}-${tokens}`;
  const run = makeRun(kind, tokens);
  runs.set(key, run);
  cpuSamples.set(key, []);
  wallSamples.set(key, []);
  for (let i = 0; i < (tokens > 1000 ? 3 : 20); i++) events.set(key, await run());
}
for (let round = 0; round < reps; round++) {
  for (const [kind, tokens] of scenarios) {
    const key = `${kind}-${tokens}`;
    for (let i = 0; i < batch(kind, tokens); i++) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await runs.get(key)();
      const wall = (performance.now() - start) * 1000;
      const used = process.cpuUsage(cpu);
      cpuSamples.get(key).push(used.user + used.system);
      wallSamples.get(key).push(wall);
    }
  }
  process.stderr.write(`repetition ${round + 1}/${reps} done\n`);
}
const require = createRequire(import.meta.url);
// Figures in µs; cpu is the whole process's CPU time (V8's helper threads included).
const summary = (samples) => {
  const perRun = median(samples.get("text-1"));
  return {
    us_per_run: perRun,
    us_per_token: Object.fromEntries(
      tokenCounts.map((n) => [String(n), (median(samples.get(`text-${n}`)) - perRun) / (n - 1)]),
    ),
    tool_loop_us_per_run: median(samples.get(`tool-${TOOL_TOKENS}`)),
  };
};
const result = {
  versions: {
    "@mastra/core": require("@mastra/core/package.json").version,
    ai: require("ai/package.json").version,
    node: process.version,
  },
  reps,
  cpu: summary(cpuSamples),
  wall: summary(wallSamples),
  events_per_run: Object.fromEntries(events),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
