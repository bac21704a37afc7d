// The realtime client's ordering: held until the snapshot, then only newer frames, each once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { EventOrder, isAfter, maxId } from "../../src/tidings/web/static/js/ordering.js";

const event = (id, type = "message") => ({ kind: "event", type, id, data: "{}" });
const resync = (id) => ({ kind: "resync", id });
const ids = (frames) => frames.map((f) => f.id);

describe("isAfter", () => {
  test("compares decimal positions as numbers, not as text", () => {
    assert.equal(isAfter("10", "9"), true);
    assert.equal(isAfter("9", "10"), false);
    assert.equal(isAfter("12", "12"), false);
    assert.equal(isAfter("123456789012345678901", "123456789012345678900"), true);
  });

  test("anything is after nothing; a malformed id counts as newer", () => {
    assert.equal(isAfter("1", null), true);
    assert.equal(isAfter("1", ""), true);
    assert.equal(isAfter("abc", "5"), true);
  });

  test("maxId keeps the later id, either may be missing", () => {
    assert.equal(maxId("9", "10"), "10");
    assert.equal(maxId(null, "3"), "3");
    assert.equal(maxId("3", ""), "3");
  });
});

describe("EventOrder", () => {
  test("holds frames until the snapshot, then delivers only those newer than it, in order", () => {
    const order = new EventOrder();
    for (const id of ["4", "5", "6", "8"]) assert.equal(order.accept(event(id)), null);
    assert.equal(order.position, "8");
    assert.deepEqual(ids(order.resume("5")), ["6", "8"]);
    assert.equal(order.applied, "8");
  });

  test("drops a frame at or below the applied position (a duplicate, a relay overlap)", () => {
    const order = new EventOrder();
    order.resume("10");
    assert.deepEqual(order.accept(event("12")), event("12"));
    assert.equal(order.accept(event("12")), null);
    assert.equal(order.accept(event("11")), null);
    assert.equal(order.accept(event("10")), null);
    assert.deepEqual(order.accept(event("15")), event("15"));
    assert.equal(order.position, "15");
  });

  test("positions skip (other people's events): only the order counts", () => {
    const order = new EventOrder();
    order.resume("3");
    assert.deepEqual(ids([event("7"), event("40"), event("41")].map((f) => order.accept(f))), ["7", "40", "41"]);
  });

  test("the stream resumes from the newest id heard, even one still held", () => {
    const order = new EventOrder();
    order.accept(event("20"));
    assert.equal(order.position, "20");
    order.resume("15");
    assert.equal(order.position, "20");
    const fresh = new EventOrder();
    fresh.resume("30");
    assert.equal(fresh.position, "30");
  });

  test("holding again (a snapshot refetched) buffers until the new snapshot", () => {
    const order = new EventOrder();
    order.resume("10");
    order.hold();
    assert.equal(order.accept(event("11")), null);
    assert.equal(order.accept(event("13")), null);
    assert.deepEqual(ids(order.resume("12")), ["13"]);
    assert.deepEqual(order.accept(event("14")), event("14"));
  });

  test("a resync is delivered, and is the server's word on the position even going backwards", () => {
    const order = new EventOrder();
    order.resume("50");
    assert.deepEqual(order.accept(resync("7")), resync("7"));
    assert.equal(order.position, "7");
  });

  test("a resync heard while held is delivered at resume, among the newer frames", () => {
    const order = new EventOrder();
    order.accept(event("5"));
    order.accept(resync("9"));
    order.accept(event("10"));
    assert.deepEqual(order.resume("6"), [resync("9"), event("10")]);
    assert.equal(order.position, "10");
  });

  test("replaying the buffer does not move the position back to a held resync's", () => {
    const order = new EventOrder();
    order.accept(resync("9"));
    order.resume("20");
    assert.equal(order.position, "20");
  });
});
