// The published contract as a script would use it: @dmraid/core/schema.json (through the package's exports),
// compiled by ajv here, in the test, not by the validators core generates.
import Ajv2020 from 'ajv/dist/2020.js';
import schema from '@dmraid/core/schema.json' with { type: 'json' };

const ajv = new Ajv2020({ allErrors: true, strict: true });

/** A `--json` document against the schema's root. */
export const validate = ajv.compile(schema);

/** One `--monitor --json` line against `$defs/monitorEvent`. */
export const validateMonitorLine = ajv.getSchema(`${schema.$id}#/$defs/monitorEvent`)!;

export { schema };
