// Validates Prometheus Operator objects against the operator's schemas, as
// @kubernetes-models/prometheus-operator ships them (package.json pins the version).
//
// stdin: a JSON array of objects. stdout: a JSON array, one entry per object, in order:
// {"kind", "name", "error"}, error null when the object is valid. Exit status 0 whenever
// every object could be checked, 2 when a kind has no schema in the package.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  const [group, version] = object.apiVersion.split("/");
  const module = `@kubernetes-models/prometheus-operator/${group}/${version}/${object.kind}`;
  let Model;
  try {
    Model = (await import(module))[object.kind];
  } catch (error) {
    console.error(`no schema for ${object.apiVersion} ${object.kind}: ${error.message}`);
    process.exit(2);
  }
  let message = null;
  try {
    new Model(object).validate();
  } catch (error) {
    message = error.message;
  }
  results.push({ kind: object.kind, name: object.metadata.name, error: message });
}
process.stdout.write(JSON.stringify(results));
