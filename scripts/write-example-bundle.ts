/** @module Writes examples/bundle.json from the demo generator (`npx tsx scripts/write-example-bundle.ts`). */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXAMPLE_BUNDLE_OPTIONS, generateDemoBundle } from "../src/bundle/demo-bundle";

const outPath = fileURLToPath(new URL("../examples/bundle.json", import.meta.url));
const bundle = generateDemoBundle(EXAMPLE_BUNDLE_OPTIONS);
writeFileSync(outPath, `${JSON.stringify(bundle, null, 2)}\n`, "utf8");
const usage = bundle.events.filter((event) => event.type === "usage").length;
console.log(
  `wrote ${outPath}: ${bundle.members.length} members, ${bundle.events.length} events (${usage} usage)`,
);
