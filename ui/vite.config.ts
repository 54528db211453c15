// The UI is built into the server's dist/ so `npm run build` yields one deployable folder;
// the server (src/http/ui.ts) serves dist/ui at `/`, precompressed files first.
import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const outDir = fileURLToPath(new URL('../dist/ui', import.meta.url));
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt|map)$/;

/**
 * Brotli and gzip next to every text asset, at build time: served as they are
 * (@fastify/static preCompressed), so no request pays for compression.
 */
function precompress(): Plugin {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: 'keyholder-precompress',
    apply: 'build',
    closeBundle() {
      for (const file of walk(outDir).filter((f) => COMPRESSIBLE.test(f))) {
        const data = readFileSync(file);
        if (data.length < 512) continue;
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(data, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
              [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
            },
          }),
        );
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
      }
    },
  };
}

/**
 * Trims PatternFly's CSS to what this app can use: rules that only apply with a responsive
 * modifier (`pf-m-…-on-lg`) or a table grid breakpoint the app never sets are dropped
 * (about a fifth of the CSS), and so are those of themes the app never turns on. The app's own
 * responsive props are listed in USED_RESPONSIVE.
 */
const USED_RESPONSIVE = /pf-m-(2-col-on-lg|grid-md)\b/;
const UNUSED_RESPONSIVE = /pf-m-[a-z0-9-]+-on-(sm|md|lg|xl|2xl)\b|pf-m-grid-(sm|lg|xl|2xl)\b/;
/**
 * The themes the app never switches on (the classes go on <html>; keyholder sets none): their
 * token sets were more than half of PatternFly's base CSS, and every style recalculation of the
 * first paint walked them.
 */
const UNUSED_THEME = /\.pf-v6-theme-(dark|high-contrast|glass|felt|redhat)\b/;
const trimPatternFly = {
  postcssPlugin: 'keyholder-trim-patternfly',
  Rule(rule: { selectors: string[]; remove(): void }) {
    const unused = (s: string) =>
      UNUSED_THEME.test(s) || UNUSED_RESPONSIVE.test(s.replace(USED_RESPONSIVE, ''));
    if (rule.selectors.every(unused)) rule.remove();
  },
};

export default defineConfig({
  css: { postcss: { plugins: [trimPatternFly] } },
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), precompress()],
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    // PatternFly alone is large; the warning would fire on every build without telling anything
    chunkSizeWarningLimit: 2000,
  },
});
