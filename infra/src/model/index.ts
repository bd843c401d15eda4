export * from "./canary.js";
export * from "./env.js";
export * from "./image-contracts.js";
export * from "./images.js";
export * from "./messaging.js";
export * from "./platform.js";
export * from "./settings.js";
export * from "./types.js";
