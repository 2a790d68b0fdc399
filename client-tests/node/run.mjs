// Runs one scenario against the server at a URL: `node run.mjs scenarios/<name>.mjs <redis-url>`.
// A scenario module exports `run(url)`, which throws (an assertion) on failure. The whole run is
// bounded in time, and a failure prints what failed and exits non-zero.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [file, url] = process.argv.slice(2);
if (!file || !url) {
  console.error('usage: node run.mjs scenarios/<name>.mjs <redis-url>');
  process.exit(2);
}
const limitMs = Number(process.env.SCENARIO_TIMEOUT_MS ?? 60000);
const timer = setTimeout(() => {
  console.error(`${file}: still running after ${limitMs} ms against ${url}`);
  process.exit(1);
}, limitMs);
timer.unref();

try {
  const scenario = await import(pathToFileURL(path.resolve(file)).href);
  await scenario.run(url);
  clearTimeout(timer);
  console.log(`${file}: ok against ${url}`);
  process.exit(0);
} catch (err) {
  console.error(`${file}: FAILED against ${url}\n${err?.stack ?? err}`);
  process.exit(1);
}
