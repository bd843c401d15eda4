import { defineConfig } from "vite";

// The gateway a `vite` dev server forwards /api (and the notifications WebSocket) to.
const devApiTarget = process.env.SHOPSTREAM_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  // Served from the site root: asset URLs are absolute so the index.html fallback works on any path.
  base: "/",
  // Vite 8 transforms TS/TSX with Oxc; compile JSX for Preact without a plugin.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // One small app: a single JS chunk and a single CSS file keep the first load to two requests.
    cssCodeSplit: false,
  },
  server: {
    proxy: { "/api": { target: devApiTarget, changeOrigin: true, ws: true } },
  },
});
