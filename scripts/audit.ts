/**
 * `npm run audit:prod`: the production dependencies of every workspace against the npm
 * registry's advisories (`npm audit --omit=dev`), failing on any high or critical finding that
 * `audit-allowlist.json` does not accept. An acceptance names the advisory and the package, says
 * why, and expires within 90 days, so every one comes back for review. docs/security.md has the
 * how-to.
 *
 *   npm run audit:prod                               audit now (needs the registry)
 *   npm run audit:prod -- --report saved.json        judge a saved `npm audit --omit=dev --json`
 *   npm run audit:prod -- --allowlist other.json     another allowlist (tests)
 *
 * Exit codes: 0 nothing blocking; 1 a blocking finding, an expired or invalid acceptance;
 * 2 the audit could not run (an audit that did not happen is never a pass).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { REPO_ROOT } from "../infra/src/model/repo.js";

export const DEFAULT_ALLOWLIST = join(REPO_ROOT, "audit-allowlist.json");
/** Severities that fail the build unless accepted. */
export const BLOCKING = new Set(["high", "critical"]);
/** The longest an acceptance may run from today. */
export const MAX_ACCEPTANCE_DAYS = 90;

const SEVERITIES = ["info", "low", "moderate", "high", "critical"] as const;
type Severity = (typeof SEVERITIES)[number];

const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/;
const isoDate = z.iso.date({ message: "must be a date like 2027-01-31" });

const allowlistSchema = z.strictObject({
  $comment: z.string().optional(),
  accepted: z.array(
    z.strictObject({
      advisory: z.string().regex(GHSA, "must be a GitHub advisory id like GHSA-xxxx-xxxx-xxxx"),
      package: z.string().min(1),
      reason: z.string().trim().min(20, "must say why the finding is accepted (20 characters or more)"),
      expires: isoDate,
    }),
  ),
});
export type Allowlist = z.output<typeof allowlistSchema>;
export type Acceptance = Allowlist["accepted"][number];

/** The part of `npm audit --json` (report version 2) this script reads. */
const advisorySchema = z.object({
  source: z.number().optional(),
  name: z.string(),
  title: z.string(),
  url: z.string(),
  severity: z.enum(SEVERITIES),
  range: z.string().optional(),
});
const reportSchema = z.object({
  auditReportVersion: z.literal(2),
  vulnerabilities: z.record(
    z.string(),
    z.object({ name: z.string(), via: z.array(z.union([z.string(), advisorySchema])) }),
  ),
});

export interface Finding {
  advisory: string;
  package: string;
  severity: Severity;
  title: string;
  url: string;
  range?: string;
}

export interface Verdict {
  blocking: Finding[];
  accepted: Array<Finding & { acceptance: Acceptance }>;
  /** Below the threshold: reported, never failing. */
  reported: Finding[];
  expired: Acceptance[];
  /** Acceptances whose expiry is further than MAX_ACCEPTANCE_DAYS away. */
  tooLong: Acceptance[];
  /** Acceptances no current finding needs: remove them. */
  unused: Acceptance[];
}

export class AuditUnavailable extends Error {}

/** The advisories of a report, one per (advisory, package). */
export function findingsOf(rawReport: unknown): Finding[] {
  const parsed = reportSchema.safeParse(rawReport);
  if (!parsed.success) {
    const message = (rawReport as { message?: unknown; error?: { summary?: unknown } } | null)?.message;
    throw new AuditUnavailable(
      typeof message === "string" && message
        ? `npm audit failed: ${message}`
        : `npm audit answered something that is not an audit report: ${parsed.error.issues[0]?.message}`,
    );
  }
  const findings = new Map<string, Finding>();
  for (const vulnerability of Object.values(parsed.data.vulnerabilities)) {
    for (const via of vulnerability.via) {
      // A string names another vulnerable package; its own entry carries the advisory.
      if (typeof via === "string") continue;
      const advisory = via.url.match(/GHSA(-[a-z0-9]{4}){3}$/i)?.[0] ?? `npm-${via.source ?? via.url}`;
      findings.set(`${advisory} ${via.name}`, {
        advisory,
        package: via.name,
        severity: via.severity,
        title: via.title,
        url: via.url,
        ...(via.range ? { range: via.range } : {}),
      });
    }
  }
  return [...findings.values()];
}

export function parseAllowlist(raw: unknown): Allowlist {
  const parsed = allowlistSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`audit-allowlist.json is invalid:\n  ${issues.join("\n  ")}`);
  }
  return parsed.data;
}

/** Judges findings against the allowlist as of `today` (YYYY-MM-DD, UTC). */
export function judge(findings: Finding[], allowlist: Allowlist, today: string): Verdict {
  const limit = new Date(Date.parse(today) + MAX_ACCEPTANCE_DAYS * 86_400_000).toISOString().slice(0, 10);
  const expired = allowlist.accepted.filter((a) => a.expires < today);
  const tooLong = allowlist.accepted.filter((a) => a.expires > limit);
  const valid = allowlist.accepted.filter((a) => a.expires >= today && a.expires <= limit);
  const used = new Set<Acceptance>();
  const verdict: Verdict = { blocking: [], accepted: [], reported: [], expired, tooLong, unused: [] };
  for (const finding of findings) {
    if (!BLOCKING.has(finding.severity)) {
      verdict.reported.push(finding);
      continue;
    }
    const acceptance = valid.find((a) => a.advisory === finding.advisory && a.package === finding.package);
    if (acceptance) {
      used.add(acceptance);
      verdict.accepted.push({ ...finding, acceptance });
    } else {
      verdict.blocking.push(finding);
    }
  }
  verdict.unused = valid.filter((a) => !used.has(a));
  return verdict;
}

export const failed = (v: Verdict) => v.blocking.length + v.expired.length + v.tooLong.length > 0;

export function describe(v: Verdict): string {
  const line = (f: Finding) => `  ${f.severity.padEnd(8)} ${f.package} ${f.advisory}: ${f.title} (${f.url})`;
  const out: string[] = [];
  if (v.blocking.length) {
    out.push("Blocking (high or critical, not accepted): update the dependency, or accept the finding in");
    out.push("audit-allowlist.json with a reason and an expiry date (docs/security.md):");
    out.push(...v.blocking.map(line));
  }
  for (const a of v.expired)
    out.push(`Expired acceptance (${a.expires}): ${a.advisory} in ${a.package}. Review it.`);
  for (const a of v.tooLong) {
    out.push(
      `Acceptance runs past ${MAX_ACCEPTANCE_DAYS} days (${a.expires}): ${a.advisory} in ${a.package}.`,
    );
  }
  if (v.accepted.length) {
    out.push("Accepted:");
    out.push(
      ...v.accepted.map((f) => `${line(f)}\n    until ${f.acceptance.expires}: ${f.acceptance.reason}`),
    );
  }
  if (v.reported.length) {
    out.push("Below the threshold (not failing):");
    out.push(...v.reported.map(line));
  }
  for (const a of v.unused)
    out.push(`Unused acceptance (no such finding now): ${a.advisory} in ${a.package}. Remove it.`);
  out.push(
    failed(v)
      ? "Production dependency audit: FAILED"
      : `Production dependency audit: passed (${v.accepted.length} accepted, ${v.reported.length} below the threshold)`,
  );
  return out.join("\n");
}

/**
 * Runs `npm audit --omit=dev --json` at the root, which covers every workspace's dependencies
 * (one lockfile). Its exit code only says whether it found something: the JSON says the rest.
 */
function runNpmAudit(): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      "npm",
      ["audit", "--omit=dev", "--json"],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        try {
          resolvePromise(JSON.parse(stdout));
        } catch {
          reject(
            new AuditUnavailable(`npm audit did not answer JSON: ${err?.message ?? ""} ${stderr}`.trim()),
          );
        }
      },
    );
  });
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  try {
    const reportFile = option(args, "--report");
    const raw = reportFile ? JSON.parse(readFileSync(reportFile, "utf8")) : await runNpmAudit();
    const allowlist = parseAllowlist(
      JSON.parse(readFileSync(option(args, "--allowlist") ?? DEFAULT_ALLOWLIST, "utf8")),
    );
    const today = option(args, "--today") ?? new Date().toISOString().slice(0, 10);
    const verdict = judge(findingsOf(raw), allowlist, today);
    process.stdout.write(`${describe(verdict)}\n`);
    return failed(verdict) ? 1 : 0;
  } catch (err) {
    if (err instanceof AuditUnavailable) {
      process.stderr.write(
        `The production dependency audit could not run, so it did not pass: ${err.message}\n`,
      );
      return 2;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
