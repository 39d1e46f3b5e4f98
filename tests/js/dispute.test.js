// A dispute heard at the door, queued on the phone: the item the form makes, where it goes, what the
// answer leaves on it, and what the outbox list calls it (never the party's phone number).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const { rules } = require(path.join(__dirname, "..", "..", "survey_app", "static", "field.js"));
const T = (key) => ({ dispute_label: "争议登记 · 当事人 %n" })[key] || key;
const ctx = { kind: "dispute", village: "370403001001", household: "370403001001.1",
              person: "370403001001.3" };
const values = { party_name: "李超", party_phone: "13912345678", channel: "visit", category: "records",
                 content: "已缴费，名单显示未缴。", first_opinion: "转税务核实。" };

test("a dispute form makes an outbox item whose payload names its village, household and person", () => {
  const item = rules.entry(ctx, values, "d1", null, 42);
  assert.deepEqual(item.payload, Object.assign({ uuid: "d1", village: "370403001001",
    household: "370403001001.1", person: "370403001001.3" }, values));
  assert.equal(item.kind, "dispute");
  assert.equal(item.household, "370403001001.1");
  assert.equal(item.person, "370403001001.3");
  assert.deepEqual([item.state, item.created, item.attempts, item.notBefore], ["waiting", 42, 0, 0]);
  assert.deepEqual(rules.request(item, [item]), { url: "/api/v1/disputes", body: item.payload });
});

test("a member-less dispute has no person; a corrected one keeps its person and its place in line", () => {
  const plain = rules.entry(Object.assign({}, ctx, { person: null }), values, "d2", null, 5);
  assert.equal("person" in plain.payload, false);
  const old = rules.entry(ctx, values, "d1", null, 7);
  // corrected from the outbox list: the page's address names the item, not always the person
  const fixed = rules.entry(Object.assign({}, ctx, { person: null }), values, "d1", old, 99);
  assert.equal(fixed.payload.person, "370403001001.3");
  assert.equal(fixed.created, 7);
});

test("the outbox calls it by the party's name, never by the phone number", () => {
  const label = rules.label("dispute", values, T);
  assert.equal(label, "争议登记 · 当事人 李超");
  assert.equal(label.indexOf("13912345678"), -1);
  assert.equal(rules.label("person", { name: "王秀英" }, T), "王秀英");
});

test("an accepted dispute keeps its number; a refused one its messages per field, to correct", () => {
  const item = rules.entry(ctx, values, "d1", null, 1);
  const done = rules.settle(item, 201, { id: "370403001-4", village: "370403001001", due: "2026-11-30",
                                         level: "routine" }, 9).item;
  assert.deepEqual([done.state, done.receipt, done.ref], ["done", "370403001-4", "370403001-4"]);
  const refused = rules.settle(item, 422, { error: "invalid", message: "表单有错误，未保存。",
                                            errors: { party_phone: "请填写11位手机号码。" } }, 9).item;
  assert.equal(refused.state, "fix");
  assert.deepEqual(refused.error.errors, { party_phone: "请填写11位手机号码。" });
  assert.equal(rules.settle(item, 404, { error: "not_found" }, 9).item.state, "fix");
});

test("a dispute about a person whose form was returned does not count as the correction", () => {
  const person = { id: "370403001001.3", status: "registered",
                   review: { state: "returned", at: "2026-11-20T09:00:00+08:00", comment: "核对身份证" } };
  const dispute = rules.entry(ctx, values, "d1", null, Date.parse("2026-11-21T09:00:00+08:00"));
  assert.deepEqual(rules.returned([person], [dispute]).map((p) => p.id), ["370403001001.3"]);
  const corrected = Object.assign({}, dispute, { kind: "person" });
  assert.deepEqual(rules.returned([person], [corrected]), []);
});

test("registrations queue as before: the person form's payload has no village, 暂存 is kept", () => {
  const form = rules.entry({ kind: "person", village: "370403001001", household: "370403001001.1",
                             person: null }, { name: "王秀英" }, "p1", null, 3, true);
  assert.deepEqual(form.payload, { uuid: "p1", name: "王秀英", household: "370403001001.1", incomplete: true });
  const house = rules.entry({ kind: "household", village: "370403001001", household: null, person: null },
                            { head_name: "李超" }, "h1", null, 3);
  assert.deepEqual(house.payload, { uuid: "h1", head_name: "李超" });
  assert.equal(house.household, "new-h1");
});
