// Builds runner.js into a component with the componentize-js library API (the `jco
// componentize` CLI fails on this machine kind). HTTP and fetch are disabled so the component
// imports nothing agency refuses.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const { component } = await componentize({
  sourcePath: 'runner.js',
  witPath: 'wit/since_v0.2.0',
  worldName: 'runner-plugin',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('aider_js.wasm', component);
console.log(`aider_js.wasm: ${component.length} bytes`);
