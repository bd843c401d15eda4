/**
 * Runs the Pulumi program under Pulumi's mocks and records every resource's type, name, inputs and
 * options. Free of the test runner, so that the real-engine replay (scripts/replay) applies the
 * very graph the tests check.
 * Generated secrets come back as recognisable values so tests can prove they never leak into an
 * env value, a command or a label.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: recorded inputs are whatever the program passed
  inputs: Record<string, any>;
  /** Provider reference (`urn::id`) when one was set explicitly or inherited. */
  provider?: string;
  /** Top-level input names that hold a Pulumi secret somewhere inside. */
  secretInputs: string[];
  /** Names of the resources it depends on (explicit `dependsOn` and inputs' sources). */
  dependsOn: string[];
  parent: string;
  protect: boolean;
  deleteBeforeReplace: boolean;
}

export interface StackRun {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  /** Every generated secret value (passwords, bcrypt hashes, private keys). */
  secretValues: string[];
  ofType(type: string): RecordedResource[];
  named(type: string, name: string): RecordedResource;
}

export const TYPES = {
  container: "docker:index/container:Container",
  service: "docker:index/service:Service",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  secret: "docker:index/secret:Secret",
  serviceConfig: "docker:index/serviceConfig:ServiceConfig",
  provider: "pulumi:providers:docker",
  password: "random:index/randomPassword:RandomPassword",
  privateKey: "tls:index/privateKey:PrivateKey",
} as const;

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

/** Stack config as a user sets it: plain keys, structured keys as objects. */
export type StackSettings = Record<string, string | number | boolean | Record<string, unknown>>;

/** Loads the program's module graph (after the mocks are in place) and returns its exports. */
export type ProgramLoader = () => Promise<Record<string, unknown>>;

/**
 * Runs the program `load` imports for one stack under Pulumi's mocks and records every resource.
 * Throws what the program throws (e.g. a configuration error). The tests load it with a fresh
 * module graph (`runStack` in ./mocks.ts); the real-engine replay loads it once.
 */
export async function recordStack(
  load: ProgramLoader,
  settings: StackSettings = {},
  stack = "dev",
): Promise<StackRun> {
  const resources: RecordedResource[] = [];
  const secretValues: string[] = [];
  const options = new Map<
    string,
    Pick<RecordedResource, "dependsOn" | "parent" | "protect" | "deleteBeforeReplace">
  >();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        switch (args.type) {
          case TYPES.password: {
            const length = Number(args.inputs.length ?? 32);
            const value = `Mock${digest(args.name).slice(0, 8)}Secret${"x".repeat(64)}`.slice(
              0,
              Math.max(length, 16),
            );
            const bcrypt = `$2a$10$Mock${digest(`bcrypt:${args.name}`).slice(0, 49)}`;
            state.result = value;
            state.bcryptHash = bcrypt;
            secretValues.push(value, bcrypt);
            break;
          }
          case TYPES.privateKey: {
            const { privateKey, publicKey } = generateKeyPairSync("ed25519");
            const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
            state.privateKeyPemPkcs8 = pem;
            state.privateKeyPem = pem;
            state.publicKeyPem = publicKey.export({ format: "pem", type: "spki" }).toString();
            secretValues.push(pem);
            break;
          }
          case TYPES.remoteImage:
            state.imageId = `sha256:${digest(String(args.inputs.name))}`;
            state.repoDigest = `${args.inputs.name}@sha256:${digest(String(args.inputs.name))}`;
            break;
          case TYPES.image:
            state.repoDigest = `${args.inputs.imageName}@sha256:${digest(String(args.inputs.imageName))}`;
            break;
          case TYPES.secret:
          case TYPES.serviceConfig:
            state.name = args.inputs.name ?? `${args.name}-${digest(args.name).slice(0, 7)}`;
            break;
        }
        const secretInputs: string[] = [];
        resources.push({
          type: args.type,
          name: args.name,
          inputs: reveal(args.inputs, (path) => secretInputs.push(path)),
          secretInputs,
          ...(args.provider ? { provider: args.provider } : {}),
          ...(options.get(`${args.type}::${args.name}`) ?? {
            dependsOn: [],
            parent: "",
            protect: false,
            deleteBeforeReplace: false,
          }),
        });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "shopstream",
    stack,
    false,
  );
  // The mock's `newResource` does not see resource options; read them off the requests.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    options.set(`${req.getType()}::${req.getName()}`, {
      dependsOn: req.getDependenciesList().map(nameOfUrn),
      parent: req.getParent() ? nameOfUrn(req.getParent()) : "",
      protect: req.getProtect() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace(),
    });
    return register(req, callback);
  };
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(settings).map(([key, value]) => [
        `shopstream:${key}`,
        typeof value === "object" ? JSON.stringify(value) : String(value),
      ]),
    ),
    [],
  );

  const program = await load();
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolve(value);
  await settle(resources);

  return {
    resources,
    outputs,
    secretValues,
    ofType: (type) => resources.filter((r) => r.type === type),
    named(type, name) {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (!found)
        throw new Error(`no ${type} named ${name} (have: ${resources.map((r) => r.name).join(", ")})`);
      return found;
    },
  };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean;
}

/** Pulumi's wire marker of a secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs with secret wrappers replaced by their values; reports which top-level inputs had one. */
// biome-ignore lint/suspicious/noExplicitAny: recorded inputs are whatever the program passed
function reveal(value: unknown, onSecret: (input: string) => void, top?: string): any {
  if (Array.isArray(value)) return value.map((v) => reveal(v, onSecret, top));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_MARK) {
      if (top) onSecret(top);
      return reveal(obj.value, onSecret, top);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, reveal(v, onSecret, top ?? k)]));
  }
  return value;
}

const nameOfUrn = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

async function resolve(value: unknown): Promise<unknown> {
  if (value === undefined) return undefined;
  return new Promise((done) => pulumi.output(value).apply((v) => done(v)));
}

/** Waits until no resource has registered for a few turns: registrations are asynchronous. */
async function settle(resources: RecordedResource[]): Promise<void> {
  let stable = 0;
  let last = -1;
  while (stable < 5) {
    await new Promise((r) => setTimeout(r, 10));
    if (resources.length === last) stable++;
    else {
      stable = 0;
      last = resources.length;
    }
  }
}

/** `KEY=VALUE` list (containers) or map (services) as a map. */
export function envOf(r: RecordedResource): Record<string, string> {
  if (r.type === TYPES.container) {
    return Object.fromEntries(
      (r.inputs.envs ?? []).map((e: string) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
  }
  return { ...(r.inputs.taskSpec?.containerSpec?.env ?? {}) };
}

/** A workload's label value on a container or a service. */
export function labelOf(r: RecordedResource, label: string): string | undefined {
  const labels: { label: string; value: string }[] =
    r.type === TYPES.service ? (r.inputs.taskSpec?.containerSpec?.labels ?? []) : (r.inputs.labels ?? []);
  return labels.find((l) => l.label === label)?.value;
}
