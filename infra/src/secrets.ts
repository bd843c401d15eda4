import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { renderSecretFiles, servicePasswordSecrets } from "./config-files/index.js";
import type { Platform, SecretName, SecretSpec } from "./model/index.js";

export interface PlatformSecretsArgs {
  /** The model's secrets; one generator each. */
  secrets: SecretSpec[];
}

/**
 * Every generated secret of the platform, kept as Pulumi secrets (encrypted in the state). Values
 * only ever leave this component as Outputs that targets turn into files: never an env value, a
 * command or a label.
 */
export class PlatformSecrets extends pulumi.ComponentResource {
  /** The secret's content, as its file holds it (no trailing newline). */
  readonly values: Record<SecretName, pulumi.Output<string>>;
  /** bcrypt hashes of the passwords, for consumers that take a hash (Traefik's users file). */
  readonly bcryptHashes: Partial<Record<SecretName, pulumi.Output<string>>>;

  constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:secrets:PlatformSecrets", name, {}, opts);
    const values: Partial<Record<SecretName, pulumi.Output<string>>> = {};
    const bcryptHashes: Partial<Record<SecretName, pulumi.Output<string>>> = {};
    const keys: Partial<Record<SecretName, tls.PrivateKey>> = {};
    for (const spec of args.secrets) {
      if (spec.kind === "email") {
        // Lower-case letters and digits: the address is the same however it is typed.
        const tag = new random.RandomPassword(
          `${name}-${spec.name}`,
          { length: spec.length ?? 12, special: false, upper: false, minLower: 1, minNumeric: 1 },
          { parent: this },
        );
        values[spec.name] = pulumi.secret(
          pulumi.interpolate`admin-${tag.result}@${spec.domain ?? "localhost"}`,
        );
      } else if (spec.kind === "ed25519-pem") {
        const key = new tls.PrivateKey(`${name}-${spec.name}`, { algorithm: "ED25519" }, { parent: this });
        keys[spec.name] = key;
        values[spec.name] = pulumi.secret(key.privateKeyPemPkcs8);
      } else if (spec.kind === "ed25519-public") {
        // Derived below, once every private key exists.
      } else {
        // Letters and digits only: the values travel through URLs, SQL literals and ACL files,
        // and 24+ alphanumerics are well past brute force.
        const password = new random.RandomPassword(
          `${name}-${spec.name}`,
          { length: spec.length ?? 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
          { parent: this },
        );
        values[spec.name] = pulumi.secret(password.result);
        bcryptHashes[spec.name] = pulumi.secret(password.bcryptHash);
      }
    }
    // Public halves once every key exists (their specs may come in any order).
    for (const spec of args.secrets.filter((x) => x.kind === "ed25519-public")) {
      const key = spec.of && keys[spec.of];
      if (!key)
        throw new Error(`${spec.name} is the public half of ${spec.of}, which is not an Ed25519 key here`);
      values[spec.name] = key.publicKeyPem;
    }
    this.values = values as Record<SecretName, pulumi.Output<string>>;
    this.bcryptHashes = bcryptHashes;
    this.registerOutputs({});
  }
}

/**
 * The files derived from secrets (RabbitMQ definitions and Redis's ACL file with the services'
 * password hashes, Traefik's basic-auth users), rendered once for every target and kept secret.
 */
export function secretFiles(
  platform: Platform,
  secrets: PlatformSecrets,
): pulumi.Output<Record<string, string>> {
  const names = servicePasswordSecrets(platform);
  return pulumi.secret(
    pulumi
      .all([
        pulumi.all(names.map((n) => secretValue(secrets, n))),
        secrets.bcryptHashes["traefik-dashboard-password"] ?? pulumi.output(""),
      ])
      .apply(([values, dashboardPasswordBcrypt]) =>
        renderSecretFiles(platform, {
          passwords: Object.fromEntries(names.map((n, i) => [n, values[i]!])),
          dashboardPasswordBcrypt,
        }),
      ),
  );
}

/** One generated secret's value; the model names every secret it mounts, so a miss is a bug. */
export function secretValue(secrets: PlatformSecrets, name: SecretName): pulumi.Output<string> {
  const value = secrets.values[name];
  if (!value) throw new Error(`the platform generates no secret ${name}`);
  return value;
}
