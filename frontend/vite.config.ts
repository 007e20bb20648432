import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// One package, several entries: the agent console today (index.html → src/console/).
// The website widget can be added as another input here (or a second config file built
// in library mode) without touching the console.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      input: { console: "index.html" },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
