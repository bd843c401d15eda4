// The admin account's address is not guessable by default: a generated secret in the stacks,
// generated once and kept in the local run. An operator who sets one gets that one.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localAdminEmail } from "../../infra/src/local/provision.js";
import { envOf, runStack, TYPES } from "./mocks.js";

const authContainer = (run: Awaited<ReturnType<typeof runStack>>) => run.named(TYPES.container, "auth");

describe("the admin's address in a stack", () => {
  it("is generated when none is configured: admin-<random>@<domain>, handed to auth as a secret file", async () => {
    const run = await runStack({});
    const address = String(run.outputs.shopAdminEmail);
    expect(address).toMatch(/^admin-[a-z0-9]{12,}@shopstream\.localhost$/i);
    expect(address).not.toBe("admin@shopstream.localhost");
    const env = envOf(authContainer(run));
    expect(env.SHOPSTREAM_ADMIN_EMAIL).toBeUndefined();
    expect(env.SHOPSTREAM_ADMIN_EMAIL_FILE).toBe("/run/secrets/admin-email");
    // Nowhere in plain sight: no container's env or label carries it.
    for (const c of run.ofType(TYPES.container))
      expect(JSON.stringify(c.inputs.envs ?? [])).not.toContain(address);
  });

  it("is the configured one when shopstream:adminEmail is set", async () => {
    const run = await runStack({ adminEmail: "owner@example.com" });
    expect(run.outputs.shopAdminEmail).toBe("owner@example.com");
    const env = envOf(authContainer(run));
    expect(env.SHOPSTREAM_ADMIN_EMAIL).toBe("owner@example.com");
    expect(env.SHOPSTREAM_ADMIN_EMAIL_FILE).toBeUndefined();
  });
});

describe("the admin's address in the local run", () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "shopstream-admin-"));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("is generated on the first run, kept (0600) for the next ones, and differs between machines", () => {
    const dir = stateDir();
    const first = localAdminEmail(dir, {});
    expect(first).toMatch(/^admin-[0-9a-f]{12}@shopstream\.local$/);
    expect(readFileSync(join(dir, "admin-email"), "utf8").trim()).toBe(first);
    expect(statSync(join(dir, "admin-email")).mode & 0o777).toBe(0o600);
    expect(localAdminEmail(dir, {})).toBe(first);
    expect(localAdminEmail(stateDir(), {})).not.toBe(first);
  });

  it("is SHOPSTREAM_ADMIN_EMAIL when it is set", () => {
    expect(localAdminEmail(stateDir(), { SHOPSTREAM_ADMIN_EMAIL: "me@example.com" })).toBe("me@example.com");
  });
});
