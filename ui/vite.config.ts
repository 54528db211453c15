// The UI is built into the server's dist/ so `npm run build` yields one deployable folder;
// the server (src/http/ui.ts) serves dist/ui at `/`.
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // PatternFly alone is large; the warning would fire on every build without telling anything
    chunkSizeWarningLimit: 2000,
  },
});
