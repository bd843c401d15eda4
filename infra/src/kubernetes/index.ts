export * from "./edge.js";
export * from "./images.js";
export * from "./naming.js";
export * from "./network.js";
export * from "./platform.js";
export * from "./render.js";
export * from "./wiring.js";
export * from "./workload.js";
