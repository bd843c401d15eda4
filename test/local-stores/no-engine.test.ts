/**
 * `npm run dev` on a machine with neither the stores nor a Docker engine: the clear message
 * (which store, where it looked, how to start it), exit 1, and nothing started.
 */
import { describe, expect, it } from "vitest";
import { baseEnv, freePort, startDev } from "./dev.js";

describe("npm run dev without stores and without a Docker engine", () => {
  it("names each missing store, where it looked and how to start it, and exits 1", async () => {
    const [mariadb, redis, rabbitmq] = [await freePort(), await freePort(), await freePort()];
    const dev = startDev(
      ["--start-stores"],
      baseEnv({
        DOCKER_HOST: "unix:///nonexistent/docker.sock",
        LOCAL_MARIADB_PORT: String(mariadb),
        LOCAL_REDIS_PORT: String(redis),
        LOCAL_RABBITMQ_PORT: String(rabbitmq),
      }),
    );
    expect(await dev.exited).toBe(1);
    const out = dev.output();
    expect(out).toContain(`MariaDB cannot be reached at 127.0.0.1:${mariadb} as root`);
    expect(out).toContain(`Redis cannot be reached at 127.0.0.1:${redis}`);
    expect(out).toContain(`RabbitMQ cannot be reached at 127.0.0.1:${rabbitmq} as guest`);
    expect(out.match(/Start it with: {2}\S/g)).toHaveLength(3);
    expect(out).toContain("docs/local-run.md");
    expect(out).toContain("With a Docker engine running, npm run dev offers to start them as containers");
    expect(out).not.toContain("stores:");
  }, 60_000);
});
