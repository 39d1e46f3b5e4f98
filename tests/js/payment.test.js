// A payment in the outbox: where it goes, what the answer leaves on it, what the phone counts as paid.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const { rules } = require(path.join(__dirname, "..", "..", "survey_app", "static", "field.js"));
const payment = (extra) => Object.assign({ uuid: "p1", kind: "payment", person: "370403001001.7",
  household: "370403001001.1", state: "waiting", created: 1, attempts: 0, notBefore: 0,
  payload: { uuid: "p1", person: "370403001001.7", schemes: ["resident_medical"], amount: "400.00",
             channel: "village_agent", receipt_no: "SD-0001", paid_on: "2026-11-21", note: "" } }, extra);

test("a payment is posted to /api/v1/payments with its payload as it was queued", () => {
  const item = payment();
  assert.deepEqual(rules.request(item, [item]), { url: "/api/v1/payments", body: item.payload });
});

test("an accepted payment keeps its receipt book number and the person it paid for", () => {
  const done = rules.settle(payment(), 201, { ids: ["370403001001.3"], person: "370403001001.7",
                                              amount: "400.00", replayed: false }, 99).item;
  assert.equal(done.state, "done");
  assert.equal(done.receipt, "SD-0001");
  assert.equal(done.ref, "370403001001.7");
  assert.equal(done.doneAt, 99);
});

test("a refused payment keeps the messages per field; a uuid conflict is kept to fix too", () => {
  const refused = rules.settle(payment(), 422, { error: "invalid", message: "表单有错误，未保存。",
                                                 errors: { receipt_no: "这个票据号已开给本村其他人，请核对票据。" } }, 5).item;
  assert.equal(refused.state, "fix");
  assert.deepEqual(refused.error.errors, { receipt_no: "这个票据号已开给本村其他人，请核对票据。" });
  const conflict = rules.settle(payment(), 409, { error: "uuid_conflict", message: "x" }, 5).item;
  assert.equal(conflict.state, "fix");
  assert.equal(conflict.error.code, "uuid_conflict");
  const retried = rules.settle(payment(), 503, {}, 1000, 0.5).item;
  assert.equal(retried.state, "waiting");
  assert.equal(retried.notBefore, 3000);
});

test("schemes paid on the phone count as paid until a refresh brings the server's roll", () => {
  const items = [payment(), payment({ uuid: "p2", state: "done", doneAt: 50,
                   payload: Object.assign({}, payment().payload, { schemes: ["resident_pension"] }) }),
                 payment({ uuid: "p3", state: "fix", payload: Object.assign({}, payment().payload, { schemes: ["x"] }) }),
                 payment({ uuid: "p4", person: "370403001001.8" })];
  assert.deepEqual(rules.paidHere("370403001001.7", items, 10), { resident_medical: true, resident_pension: true });
  assert.deepEqual(rules.paidHere("370403001001.7", items, 60), { resident_medical: true });
  assert.deepEqual(rules.paidHere("370403001001.9", items, 0), {});
});
