import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@shopstream/infra/model";
import { describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import { buildPlatform } from "../../infra/src/model/index.js";
import { accessTable } from "../support/access-table.js";

describe("docs/least-privilege.md", () => {
  it("holds the table of what each service may do, as the model gives it", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/least-privilege.md"), "utf8");
    const table = /<!-- access-table:start -->\n([\s\S]*?)\n<!-- access-table:end -->/.exec(doc)?.[1];
    const platform = buildPlatform(platformSettings(parseStackConfig({}, "dev")));
    // On a mismatch, the expected table is printed: paste it between the markers.
    expect(table).toBe(accessTable(platform));
  });
});
