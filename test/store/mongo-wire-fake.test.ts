import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMongoCostStore } from "../../src/store/mongo/mongo-cost-store.js";
import { describeCostStoreContract } from "./cost-store-contract.js";
import { describeSqliteParity } from "./mongo-sqlite-parity.js";
import { startFakeMongo, type FakeMongo } from "./mongo-wire-fake.js";

// The conformance suite through the real driver against a wire-protocol fake whose
// query engine is mingo (see mongo-wire-fake.ts): it checks what the adapter sends
// and how it reads the answers (BSON, Int64 amounts, cursors, transactions' commands),
// not MongoDB's own semantics, which mongo-store.test.ts checks against a real server.

let fake: FakeMongo;
let databases = 0;
beforeAll(async () => {
  fake = await startFakeMongo();
});
afterAll(async () => {
  await fake.close();
});

const open = async () => createMongoCostStore({ uri: fake.uri, database: `fake_${++databases}`, serverSelectionTimeoutMs: 2_000 });

describeCostStoreContract("mongodb adapter over a wire-protocol fake (mingo engine)", open);
describeSqliteParity("mongodb adapter over a wire-protocol fake (mingo engine)", open);

describe("the MongoDB adapter over the wire-protocol fake", () => {
  it("commits record batches, budgets and alerts in transactions", () => {
    expect(fake.commands.get("commitTransaction") ?? 0).toBeGreaterThan(10);
    expect(fake.commands.get("abortTransaction") ?? 0).toBe(0);
  });
});
