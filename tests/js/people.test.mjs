// Finding people without the page (actions.js `searchUsers`, views/people.js `peopleSearch`):
// the request, the people put in the users map without the answer's `is_friend` (the store's
// friends say who is one), the 150 ms pause, and a newer query aborting the older request.
// The Friends view and the new-chat dialog are tested in Chromium (tests/e2e/test_user_search.py).
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { searchUsers } from "../../src/tidings/web/static/js/actions.js";
import { state, update } from "../../src/tidings/web/static/js/store.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { userById } from "../../src/tidings/web/static/js/store/users.js";
import { PEOPLE_DEBOUNCE_MS, peopleSearch } from "../../src/tidings/web/static/js/views/people.js";
import { alice, bob, carol, snapshot } from "./fixtures.mjs";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A stand-in `fetch`: records each request; answers with `people` for the query. */
function fakeFetch(answers) {
  const calls = [];
  globalThis.fetch = async (path, init) => {
    calls.push({ path, init });
    const q = new URL(path, "http://x").searchParams.get("q");
    return { ok: true, status: 200, text: async () => JSON.stringify(answers[q] ?? []) };
  };
  return calls;
}

beforeEach(() => update(applySnapshot, snapshot(alice)));
afterEach(() => mock.timers.reset());

test("searchUsers asks for the query, puts the people in the store and answers their ids", async () => {
  const calls = fakeFetch({ "ob c": [{ ...bob, is_friend: true }, { ...carol, is_friend: false }] });
  const controller = new AbortController();
  assert.deepEqual(await searchUsers("ob c", { limit: 5, signal: controller.signal }), [bob.id, carol.id]);
  assert.equal(calls[0].path, "/api/users?q=ob%20c&limit=5");
  assert.equal(calls[0].init.signal, controller.signal);
  assert.deepEqual(userById(state, bob.id), bob); // no is_friend in the users map
  assert.equal("is_friend" in userById(state, carol.id), false);
});

test("peopleSearch waits for a pause in typing and aborts the request a newer query replaces", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  const calls = fakeFetch({ bob: [{ ...bob, is_friend: false }] });
  const search = peopleSearch();
  search.set("bo");
  mock.timers.tick(PEOPLE_DEBOUNCE_MS - 1);
  assert.equal(calls.length, 0);
  mock.timers.tick(1);
  assert.equal(calls.length, 1); // "bo" asked...
  search.set("bob"); // ...and overtaken before its answer is read
  assert.equal(calls[0].init.signal.aborted, true);
  mock.timers.tick(PEOPLE_DEBOUNCE_MS);
  await settle();
  assert.equal(calls.length, 2);
  assert.equal(search.done, true);
  assert.equal(search.query, "bob");
  assert.deepEqual(search.results, [bob.id]);
});
