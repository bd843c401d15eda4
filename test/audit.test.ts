// `npm run audit:prod`: the policy over `npm audit --omit=dev --json` (high and critical fail
// unless accepted with a reason and an expiry), run as CI runs it, on saved reports so it needs
// no registry.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_ALLOWLIST, findingsOf, judge, parseAllowlist } from "../scripts/audit.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "audit-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TODAY = "2026-11-29";

/** One advisory the way `npm audit --json` (report version 2) lists it. */
function advisory(name: string, ghsa: string, severity: string) {
  return {
    source: 1_100_000,
    name,
    dependency: name,
    title: `A ${severity} flaw in ${name}`,
    url: `https://github.com/advisories/${ghsa}`,
    severity,
    cwe: ["CWE-400"],
    cvss: { score: 7.5, vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" },
    range: "<1.2.3",
  };
}

function report(...advisories: ReturnType<typeof advisory>[]) {
  const vulnerabilities: Record<string, unknown> = {};
  for (const a of advisories) {
    vulnerabilities[a.name] = {
      name: a.name,
      severity: a.severity,
      isDirect: false,
      via: [a],
      effects: ["parent-package"],
      range: a.range,
      nodes: [`node_modules/${a.name}`],
      fixAvailable: true,
    };
  }
  // A package vulnerable only through another names it by string.
  vulnerabilities["parent-package"] = {
    name: "parent-package",
    severity: "high",
    isDirect: true,
    via: advisories.map((a) => a.name),
    effects: [],
    range: "*",
    nodes: ["node_modules/parent-package"],
    fixAvailable: true,
  };
  return { auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: {} } };
}

const HIGH = advisory("body-parser", "GHSA-qwcr-r2fm-qrc7", "high");
const CRITICAL = advisory("jsonwebtoken", "GHSA-8cf7-32gw-wr33", "critical");
const MODERATE = advisory("cookie", "GHSA-pxg6-pf52-xh8x", "moderate");

const accept = (a: ReturnType<typeof advisory>, expires: string) => ({
  advisory: a.url.split("/").pop()!,
  package: a.name,
  reason: "Only reachable through an admin-only upload path we do not expose",
  expires,
});

let files = 0;
const file = (content: unknown) => {
  const path = join(dir, `${++files}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
};

/** The CLI as CI runs it, on a saved report. */
function cli(reportContent: unknown, allowlist: unknown): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/audit.ts",
        "--report",
        file(reportContent),
        "--allowlist",
        file(allowlist),
        "--today",
        TODAY,
      ],
      { cwd: ROOT },
      (err, stdout, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, out: stdout + stderr }),
    );
  });
}

describe("npm run audit:prod", () => {
  it("is an npm script over the production dependencies only, with a checked-in, valid allowlist", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts["audit:prod"]).toBe("node --import tsx scripts/audit.ts");
    expect(readFileSync(join(ROOT, "scripts/audit.ts"), "utf8")).toContain('"--omit=dev"');
    expect(() => parseAllowlist(JSON.parse(readFileSync(DEFAULT_ALLOWLIST, "utf8")))).not.toThrow();
  });

  it("fails on a high or a critical finding, naming it, and passes on a moderate one", async () => {
    const failing = await cli(report(HIGH, CRITICAL, MODERATE), { accepted: [] });
    expect(failing.code).toBe(1);
    expect(failing.out).toContain("GHSA-qwcr-r2fm-qrc7");
    expect(failing.out).toContain("GHSA-8cf7-32gw-wr33");
    expect(failing.out).toContain("FAILED");
    const passing = await cli(report(MODERATE), { accepted: [] });
    expect(passing.code).toBe(0);
    expect(passing.out).toMatch(/Below the threshold[\s\S]*GHSA-pxg6-pf52-xh8x/);
  });

  it("passes a finding accepted with a reason until its expiry date, and fails again after it", async () => {
    const accepted = await cli(report(HIGH), { accepted: [accept(HIGH, "2026-12-31")] });
    expect(accepted.code).toBe(0);
    expect(accepted.out).toContain("until 2026-12-31: Only reachable");
    const expired = await cli(report(HIGH), { accepted: [accept(HIGH, "2026-11-28")] });
    expect(expired.code).toBe(1);
    expect(expired.out).toContain("Expired acceptance (2026-11-28)");
    expect(expired.out).toContain("GHSA-qwcr-r2fm-qrc7");
  });

  it("accepts a finding for one package only, and for at most 90 days", () => {
    const findings = findingsOf(report(HIGH));
    const otherPackage = { ...accept(HIGH, "2026-12-31"), package: "express" };
    expect(judge(findings, { accepted: [otherPackage] }, TODAY).blocking).toHaveLength(1);
    const forever = judge(findings, { accepted: [accept(HIGH, "2027-11-29")] }, TODAY);
    expect(forever.tooLong).toHaveLength(1);
    expect(forever.blocking).toHaveLength(1);
    // An acceptance nothing needs any more is pointed out.
    expect(judge([], { accepted: [accept(HIGH, "2026-12-31")] }, TODAY).unused).toHaveLength(1);
  });

  it("refuses an acceptance without a reason, an advisory id or a date", () => {
    for (const broken of [
      { ...accept(HIGH, "2026-12-31"), reason: "" },
      { ...accept(HIGH, "2026-12-31"), advisory: "1100000" },
      { ...accept(HIGH, "next year") },
      { advisory: "GHSA-qwcr-r2fm-qrc7", package: "body-parser", reason: "no expiry given at all here" },
    ]) {
      expect(() => parseAllowlist({ accepted: [broken] })).toThrow(/audit-allowlist.json is invalid/);
    }
  });

  it("never passes when the audit could not run: the registry's error is exit code 2", async () => {
    // What npm prints when the registry refuses the advisory request (as a proxy may).
    const refused = {
      message: "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
      statusCode: 405,
      error: { summary: "", detail: "" },
    };
    const result = await cli(refused, { accepted: [] });
    expect(result.code).toBe(2);
    expect(result.out).toContain("could not run, so it did not pass");
    expect(result.out).toContain("405 Method Not Allowed");
  });
});
