// Entry point for `pulumi up` (Pulumi.yaml `main: infra/`): the program lives in src/.
export * from "./src/index.js";
