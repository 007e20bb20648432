import { defineConfig } from "vite";

// The website widget: one self-contained script, dist/widget.js, served at /widget.js.
// Built after the console (whose build empties dist/), so it must not empty it again.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: false,
    sourcemap: false,
    target: "es2020",
    lib: {
      entry: "src/widget/widget.ts",
      formats: ["iife"],
      name: "PanjerehWidget",
      fileName: () => "widget.js",
    },
  },
});
