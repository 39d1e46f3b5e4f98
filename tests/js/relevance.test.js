// The web form's relevance rules (static/app.js), with node's own test runner: no browser needed.
// tests/test_rules.py also checks them against the server's, case by case, on the real definition.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const rules = require(path.join(__dirname, "..", "..", "survey_app", "static", "app.js"));

const TODAY = { y: 2026, m: 11, d: 21 };
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const withCheck = (body) => body + "10X98765432"[[...body].reduce((s, c, i) => s + Number(c) * WEIGHTS[i], 0) % 11];
const idBorn = (ymd, seq = "123") => withCheck("370403" + ymd.replace(/-/g, "") + seq);
const facts = (birth, values = {}) => ({ values, birth, today: TODAY });

test("months are added on the calendar; a day the month lacks is its last day", () => {
  assert.deepEqual(rules.addMonths({ y: 2026, m: 5, d: 21 }, 6), { y: 2026, m: 11, d: 21 });
  assert.deepEqual(rules.addMonths({ y: 2025, m: 8, d: 31 }, 6), { y: 2026, m: 2, d: 28 });
  assert.deepEqual(rules.addMonths({ y: 2023, m: 8, d: 31 }, 6), { y: 2024, m: 2, d: 29 });
  assert.deepEqual(rules.addMonths({ y: 2008, m: 2, d: 29 }, 16 * 12), { y: 2024, m: 2, d: 29 });
  assert.deepEqual(rules.addMonths({ y: 2008, m: 2, d: 29 }, 17 * 12), { y: 2025, m: 2, d: 28 });
  assert.deepEqual(rules.addMonths({ y: 2025, m: 12, d: 5 }, 1), { y: 2026, m: 1, d: 5 });
});

test("today is China's date whatever the phone's own zone", () => {
  assert.deepEqual(rules.chinaToday(Date.UTC(2026, 10, 20, 15, 59)), { y: 2026, m: 11, d: 20 });
  assert.deepEqual(rules.chinaToday(Date.UTC(2026, 10, 20, 16, 0)), { y: 2026, m: 11, d: 21 });
});

test("the birth date comes from 18 digits with a right check character, or 15 legacy digits", () => {
  assert.deepEqual(rules.birthDate(idBorn("1990-01-01"), TODAY), { y: 1990, m: 1, d: 1 });
  assert.deepEqual(rules.birthDate("370403900101123", TODAY), { y: 1990, m: 1, d: 1 });
  assert.deepEqual(rules.birthDate("３７０４０３９００１０１１２３", TODAY), { y: 1990, m: 1, d: 1 });  // full width
  const good = idBorn("1990-01-01");
  assert.equal(rules.birthDate(good.slice(0, 17) + (good[17] === "0" ? "1" : "0"), TODAY), null);
  assert.equal(rules.birthDate(idBorn("2026-11-22"), TODAY), null);   // after today
  assert.equal(rules.birthDate(idBorn("1990-02-30"), TODAY), null);   // no such day
  assert.equal(rules.birthDate("37040319900101", TODAY), null);       // still being typed
});

test("a 15-digit number shows the sex and birth date of the 18 digits it becomes", () => {
  const read = rules.readId("370403900101124");
  assert.equal(read.legacy, true);
  assert.equal(read.sex, "female");
  assert.equal(rules.isoDay(read.birth), "1990-01-01");
  assert.equal(read.number.length, 18);
  assert.deepEqual(rules.readId(idBorn("1990-01-01", "999")).error, undefined);
  assert.equal(rules.readId("123"), null);
});

test("age terms at their boundaries: the birthday itself counts", () => {
  const sixteen = { y: 2010, m: 11, d: 21 }, almost = { y: 2010, m: 11, d: 22 };
  assert.equal(rules.holds(["age", ">=", 16], facts(sixteen)), true);
  assert.equal(rules.holds(["age", "<", 16], facts(sixteen)), false);
  assert.equal(rules.holds(["age", ">=", 16], facts(almost)), false);
  assert.equal(rules.holds(["age", "<", 16], facts(almost)), true);
  assert.equal(rules.holds(["age", ">", 16], facts(sixteen)), false);
  assert.equal(rules.holds(["age", "<=", 16], facts(sixteen)), true);
  assert.equal(rules.holds(["age_months", "<=", 6], facts({ y: 2026, m: 5, d: 21 })), true);
  assert.equal(rules.holds(["age_months", "<=", 6], facts({ y: 2026, m: 5, d: 20 })), false);
  assert.equal(rules.holds(["age_months", ">", 6], facts({ y: 2026, m: 5, d: 20 })), true);
});

test("an unknown age holds no age term", () => {
  for (const op of [">=", ">", "<", "<="]) assert.equal(rules.holds(["age", op, 16], facts(null)), false);
});

test("field terms as before", () => {
  const f = facts(null, { situation: " living ", id_number: "370403 900101123" });
  assert.equal(rules.holds(["situation", "==", "living"], f), true);
  assert.equal(rules.holds(["situation", "!=", "living"], f), false);
  assert.equal(rules.holds(["situation", "in", ["", "living"]], f), true);
  assert.equal(rules.holds(["missing", "in", ["", "living"]], f), true);  // unanswered is ""
  assert.equal(rules.holds(["id_number", "length", 15], f), true);
});

test("a hidden field counts as unanswered, even for a field before it in the form", () => {
  const items = [
    { all: [["age", ">=", 16], ["employee_pension", "!=", "enrolled"]], any: [], names: ["resident_pension"] },
    { all: [["resident_pension", "==", "enrolled"]], any: [], names: ["pension_tier"] },
    { all: [], any: [], names: ["employee_pension"] },
  ];
  const child = { id_number: idBorn("2010-11-22"), resident_pension: "enrolled", pension_tier: "300" };
  assert.deepEqual(rules.settle(items, child, "id_number", TODAY).shown, [false, false, true]);
  const adult = Object.assign({}, child, { id_number: idBorn("2010-11-21") });
  assert.deepEqual(rules.settle(items, adult, "id_number", TODAY).shown, [true, true, true]);
  const employee = Object.assign({}, adult, { employee_pension: "enrolled" });
  const settled = rules.settle(items, employee, "id_number", TODAY);
  assert.deepEqual(settled.shown, [false, false, true]);
  assert.equal(settled.facts.values.resident_pension, undefined);
});

test("a section hidden hides its fields' answers from every condition", () => {
  const items = [
    { all: [["situation", "in", ["", "living"]]], any: [], names: ["person_category", "special_group"] },
    { all: [["person_category", "==", "special"]], any: [], names: ["special_group"] },
  ];
  const shown = rules.settle(items, { situation: "deceased", person_category: "special" }, null, TODAY).shown;
  assert.deepEqual(shown, [false, false]);
});

test("a check fails only for an answer given, when all its conditions hold", () => {
  const checks = [{ when: [["person_category", "==", "newborn"], ["age_months", ">", 6]], message: "只限6个月内" }];
  const values = { person_category: "newborn" };
  assert.equal(rules.failedCheck(checks, "newborn", facts({ y: 1990, m: 1, d: 1 }, values)).message, "只限6个月内");
  assert.equal(rules.failedCheck(checks, "newborn", facts({ y: 2026, m: 5, d: 21 }, values)), null);
  assert.equal(rules.failedCheck(checks, "newborn", facts(null, values)), null);  // age not known yet
  assert.equal(rules.failedCheck(checks, "", facts({ y: 1990, m: 1, d: 1 }, {})), null);
});
