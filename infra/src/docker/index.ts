export * from "./context.js";
export * from "./platform.js";
export * from "./render.js";
export * from "./swarm.js";
export * from "./workload.js";
