// The outbox's rules, with node's own test runner: no browser, no IndexedDB needed.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const { rules } = require(path.join(__dirname, "..", "..", "survey_app", "static", "field.js"));
const item = (extra) => Object.assign({ uuid: "u1", kind: "person", household: "370403001001.1",
  state: "waiting", created: 1, attempts: 0, notBefore: 0, payload: { uuid: "u1", name: "张三" } }, extra);

test("a retry waits 2 s, then twice as long each time, never more than 5 minutes", () => {
  assert.equal(rules.backoff(1, 0.5), 2000);
  assert.equal(rules.backoff(2, 0.5), 4000);
  assert.equal(rules.backoff(5, 0.5), 32000);
  assert.equal(rules.backoff(50, 0.5), 300000);
  assert.equal(rules.backoff(1, 0), 1600);   // spread by ±20 %
  assert.equal(rules.backoff(1, 1), 2400);
});

test("each answer of the server means one thing for the item", () => {
  assert.equal(rules.verdict(201), "done");
  assert.equal(rules.verdict(200), "done");          // a replay of a form already received
  assert.equal(rules.verdict(422), "fix");
  assert.equal(rules.verdict(409, { error: "uuid_conflict" }), "fix");
  assert.equal(rules.verdict(404), "fix");
  assert.equal(rules.verdict(401), "login");
  assert.equal(rules.verdict(400, { error: "csrf" }), "csrf");
  for (const status of [0, 429, 500, 502, 503]) assert.equal(rules.verdict(status), "retry");
});

test("the oldest due item goes first; one waiting for its backoff is passed over", () => {
  const items = [item({ uuid: "late", created: 5 }), item({ uuid: "early", created: 2, notBefore: 1000 }),
                 item({ uuid: "sent", created: 1, state: "done" }), item({ uuid: "fix", created: 0, state: "fix" })];
  assert.equal(rules.next(items, 500).uuid, "late");
  assert.equal(rules.next(items, 2000).uuid, "early");
  assert.equal(rules.next([], 0), null);
});

test("people of a household found today wait for the household, then name its reference", () => {
  const house = item({ uuid: "h1", kind: "household", village: "370403001001", household: "new-h1",
                       payload: { uuid: "h1", head_name: "李" }, created: 1 });
  const person = item({ uuid: "p1", household: "new-h1", created: 2 });
  assert.equal(rules.next([person, house], 10).uuid, "h1");
  assert.equal(rules.next([person, Object.assign({}, house, { state: "fix" })], 10), null);
  assert.equal(rules.next([person], 10), null);  // its household is not on this phone at all
  const done = Object.assign({}, house, { state: "done", ref: "370403001001.9" });
  assert.equal(rules.next([person, done], 10).uuid, "p1");
  assert.deepEqual(rules.request(person, [person, done]),
                   { url: "/api/v1/submissions", body: { uuid: "u1", name: "张三", household: "370403001001.9" } });
  assert.equal(rules.request(house, [house]).url, "/api/v1/villages/370403001001/households");
});

test("settling an item after its answer", () => {
  const done = rules.settle(item(), 201, { id: "370403001001.7", receipt: "ABCD-EFGH", missing: [] }, 99);
  assert.deepEqual([done.verdict, done.item.state, done.item.receipt, done.item.ref], ["done", "done", "ABCD-EFGH", "370403001001.7"]);
  const fix = rules.settle(item(), 422, { error: "invalid", message: "表单有错误", errors: { phone: "请填写" } }, 99);
  assert.deepEqual(fix.item.error, { code: "invalid", message: "表单有错误", errors: { phone: "请填写" } });
  assert.equal(fix.item.state, "fix");
  const duplicate = rules.settle(item(), 409, { error: "duplicate_id_number", message: "已在某村登记" }, 99);
  assert.deepEqual(duplicate.item.error.errors, { id_number: "已在某村登记" });
  const retry = rules.settle(item({ attempts: 2 }), 503, {}, 1000, 0.5);
  assert.deepEqual([retry.item.state, retry.item.attempts, retry.item.notBefore], ["waiting", 3, 1000 + 8000]);
  const login = rules.settle(item(), 401, {}, 5);
  assert.deepEqual([login.verdict, login.item.state], ["login", "waiting"]);  // kept as it was
});

test("data older than seven days, or none at all, is stale", () => {
  const day = 24 * 3600 * 1000;
  assert.equal(rules.stale(undefined, 10), true);
  assert.equal(rules.stale(1000, 1000 + 6 * day), false);
  assert.equal(rules.stale(1000, 1000 + 8 * day), true);
});

test("client uuids are version 4", () => {
  assert.match(rules.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
