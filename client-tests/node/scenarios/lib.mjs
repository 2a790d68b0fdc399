// Small helpers the scenarios share.
import assert from 'node:assert/strict';

export { assert };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// Resolves with the first value `next()` yields that `predicate` accepts, or rejects after
/// `ms` milliseconds naming `what` was awaited.
export function waitFor(what, ms, subscribe) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/// Collects `count` values delivered to the callback it hands out, in arrival order.
export function collector(count, what, ms = 5000) {
  const values = [];
  let done;
  const finished = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}: got ${values.length} of ${count}`)),
      ms,
    );
    done = () => {
      clearTimeout(timer);
      resolve(values);
    };
  });
  const push = (value) => {
    values.push(value);
    if (values.length === count) done();
  };
  return { push, finished };
}
