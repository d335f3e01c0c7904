// Validate a YAML or JSON stream of Traefik CRD objects (traefik.io/v1alpha1) with the compiled
// validators of @kubernetes-models/traefik. Usage: node validate.mjs FILE... (or - / stdin).
// Exits 0 when every object validates, 1 with "<file> #<n> <kind>/<name>: <error>" otherwise,
// 2 on unreadable input or an object of a kind this tool does not know.
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import * as traefik from "@kubernetes-models/traefik/traefik.io/v1alpha1";

const sources = process.argv.slice(2);
if (sources.length === 0) sources.push("-");
let failures = 0;
let checked = 0;
for (const source of sources) {
  let docs;
  try {
    const text = readFileSync(source === "-" ? 0 : source, "utf8");
    docs = yaml.loadAll(text).filter((doc) => doc !== null && doc !== undefined);
  } catch (err) {
    console.error(`${source}: cannot read: ${err.message}`);
    process.exit(2);
  }
  // A JSON array or a v1 List counts as its items.
  const objects = docs.flatMap((doc) => (Array.isArray(doc) ? doc : doc.kind === "List" ? doc.items || [] : [doc]));
  objects.forEach((obj, index) => {
    const where = `${source} #${index} ${obj.kind}/${(obj.metadata || {}).name}`;
    if (obj.apiVersion !== "traefik.io/v1alpha1" || typeof traefik[obj.kind] !== "function") {
      console.error(`${where}: not a traefik.io/v1alpha1 kind this validator knows (apiVersion ${obj.apiVersion})`);
      process.exit(2);
    }
    try {
      new traefik[obj.kind](obj).validate();
      checked += 1;
    } catch (err) {
      failures += 1;
      console.error(`${where}: ${err.message}`);
    }
  });
}
if (failures > 0) {
  console.error(`${failures} invalid object(s)`);
  process.exit(1);
}
console.log(`${checked} object(s) valid`);
