// The tests' Node runner: web/static's classic scripts, loaded as a page loads them, evaluated on request.
//
//   node evaluate.mjs SCRIPT...   loads each script into this process's global scope, in order (as
//                                 <script defer> tags run), then answers requests until stdin ends.
//
// A request is one line of JSON, {"fn": "<a function expression>", "arg": <any JSON>}; the answer is
// one line of JSON, {"value": <what fn(arg) returned or resolved to>} or {"error": "<message and
// stack>"}. The argument is parsed with JSON.parse, so a "__proto__" key is an own property, as in
// the pages, which parse the JSON they are given. Requests are answered one at a time, in order.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import vm from "node:vm";

for (const path of process.argv.slice(2)) {
  vm.runInThisContext(readFileSync(path, "utf8"), { filename: path });
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    const { fn, arg } = JSON.parse(line);
    const value = await vm.runInThisContext("(" + fn + ")")(arg);
    answer = { value: value === undefined ? null : value };
  } catch (e) {
    answer = { error: String((e && e.stack) || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
