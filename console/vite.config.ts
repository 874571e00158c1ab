// Builds the web console into console/dist, served by the AOS server under /console/
// (api/routes/console.ts). Run by `npm run build:console`, and by `prepare` on every install.
import { defineConfig } from 'vite';

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/console/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 200 },
});
