// Prints the widget's size as a browser downloads it (gzip), and fails the build over budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 40 * 1024;
const raw = readFileSync(new URL("../dist/widget.js", import.meta.url));
const gzipped = gzipSync(raw, { level: 9 }).length;
console.log(`widget.js: ${raw.length} bytes, ${gzipped} bytes gzipped (budget ${BUDGET})`);
if (gzipped > BUDGET) {
  console.error("widget.js is over its gzipped size budget");
  process.exit(1);
}
