// The console's browser tests' Chromium (Debian's, driven by playwright-core) on a fresh
// profile, after checking the console is built; and the console's sign-in.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { consoleDist } from '../../api/routes/console.ts';

const chromiumPath = process.env.AOS_CHROMIUM ?? '/usr/bin/chromium';

/** Where the pages' screenshots go (committed as evidence of what the pages look like). */
export const screenshots = new URL('../console/screenshots/', import.meta.url).pathname;

export interface ConsoleBrowser {
  browser: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openConsoleBrowser(options: {
  viewport: { width: number; height: number };
  acceptDownloads?: boolean;
}): Promise<ConsoleBrowser> {
  if (!existsSync(join(consoleDist, 'index.html'))) {
    throw new Error(`the console is not built (${consoleDist}): run \`npm run build:console\``);
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (.ci/run does)`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'aos-chromium-'));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
    ...options,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(15_000);
  return {
    browser,
    page,
    async close() {
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in on the console's sign-in page with `key` and waits for the runs page. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
}
