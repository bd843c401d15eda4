import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LEAST_PRIVILEGE_DOC, withAccessTable } from "../../scripts/access-doc.js";

describe("docs/least-privilege.md", () => {
  it("holds the table of what each service may do, as the model gives it", () => {
    const doc = readFileSync(LEAST_PRIVILEGE_DOC, "utf8");
    // On a mismatch: `npm run docs:access` rewrites the table from the model.
    expect(doc).toBe(withAccessTable(doc));
  });
});
