// Scenario in, JSON summary out: the plumbing shared by the client scripts.
//
// A scenario is one JSON object, given as the first argument or on stdin:
//   {"base": "http://127.0.0.1:PORT", "timeout": 60, "steps": [{"action": "...", ...}, ...]}
// Each step names an action of the script; the script runs the steps in order, each with the
// real client library, and checks what the client received. On success it prints
//   {"ok": true, "clients": {"<package>": "<version>"}, "steps": [<one result per step>]}
// and exits 0. A failed check exits 1 with "<script>: FAIL: step N (<action>): <why>" on stderr;
// a malformed scenario exits 2.
import { readFileSync } from 'node:fs';

/** A check that did not hold: reported as the step's failure. */
export class CheckFailure extends Error {}

class ScenarioError extends Error {}

/** Stop the current step with `message`. */
export function fail(message) {
  throw new CheckFailure(message);
}

/** Stop the current step with `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) fail(typeof message === 'function' ? message() : message);
}

/** A short JSON rendering of `value` for failure messages. */
export function brief(value, limit = 240) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} chars)` : text;
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Both client libraries report unreadable data through console.error and carry on; during a
// scenario every such report is a failure of the step that caused it.
const clientReports = [];
console.error = (...args) => {
  clientReports.push(args.map(a => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : brief(a))).join(' '));
};

/** Fail when a client library has reported an error through console.error since the last call. */
export function expectNoClientReports() {
  if (clientReports.length) fail(`the client logged: ${clientReports.splice(0).map(r => brief(r, 400)).join(' | ')}`);
}

/** Remove and return the reports since the last call that match `pattern` (a known client quirk). */
export function takeClientReports(pattern) {
  const taken = clientReports.filter(r => pattern.test(r));
  const kept = clientReports.filter(r => !pattern.test(r));
  clientReports.splice(0, clientReports.length, ...kept);
  return taken;
}

/** The installed version of each package in `names` (read from node_modules). */
export function versions(names) {
  const found = {};
  for (const name of names) {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    found[name] = JSON.parse(readFileSync(url, 'utf8')).version;
  }
  return found;
}

async function readScenario() {
  let text = process.argv[2];
  if (text === undefined) {
    const parts = [];
    for await (const part of process.stdin) parts.push(part);
    text = Buffer.concat(parts).toString('utf8');
  }
  let scenario;
  try {
    scenario = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`the scenario is not JSON: ${error.message}`);
  }
  if (!isObject(scenario)) throw new ScenarioError('the scenario must be a JSON object');
  if (typeof scenario.base !== 'string' || !/^https?:\/\//.test(scenario.base))
    throw new ScenarioError(`"base" must be an http(s) URL, got ${brief(scenario.base)}`);
  if (!Array.isArray(scenario.steps) || !scenario.steps.every(isObject))
    throw new ScenarioError('"steps" must be a list of objects');
  scenario.timeout ??= 60;
  if (!(scenario.timeout > 0)) throw new ScenarioError('"timeout" must be a positive number of seconds');
  return scenario;
}

/**
 * Run a client script: read the scenario, run each step with `actions[step.action](step, context)`
 * (context from `setup(scenario)`), print the summary and exit.
 */
export async function runScenario({ name, packages, actions, setup }) {
  let where = 'setup';
  const exit = (code, line, output) => {
    if (line) process.stderr.write(`${name}: ${line}\n`);
    if (output) process.stdout.write(output, () => process.exit(code));
    else process.exit(code);
  };
  let scenario;
  try {
    scenario = await readScenario();
    for (const [i, step] of scenario.steps.entries()) {
      if (!Object.hasOwn(actions, step.action))
        throw new ScenarioError(`step ${i}: unknown action ${brief(step.action)} (known: ${Object.keys(actions).join(', ')})`);
    }
  } catch (error) {
    if (error instanceof ScenarioError) exit(2, error.message);
    throw error;
  }
  const timer = setTimeout(() => exit(1, `FAIL: ${where}: no answer within ${scenario.timeout} s`), scenario.timeout * 1000);
  try {
    const context = await setup(scenario);
    const results = [];
    for (const [i, step] of scenario.steps.entries()) {
      where = `step ${i} (${step.action})`;
      results.push(await actions[step.action](step, context));
      expectNoClientReports();
    }
    clearTimeout(timer);
    exit(0, null, `${JSON.stringify({ ok: true, clients: versions(packages), steps: results }, null, 2)}\n`);
  } catch (error) {
    const why = error instanceof CheckFailure ? error.message : `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
    const reports = clientReports.length ? ` (the client logged: ${clientReports.map(r => brief(r, 400)).join(' | ')})` : '';
    exit(1, `FAIL: ${where}: ${why}${reports}`);
  }
}
