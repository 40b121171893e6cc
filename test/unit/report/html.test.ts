/**
 * The dashboard rendered by a real browser: headless Chromium from Debian's packages loads the
 * file (its scripts run under the page's Content-Security-Policy), and we read the DOM after
 * the scripts ran. Chromium missing is a failure, not a skip: run scripts/ensure-chromium.sh.
 */
import { execFile } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { renderHtml, summarizeFindings } from '../../../policies/report';
import { FINDINGS, META } from './fixtures';

const run = promisify(execFile);
const CHROMIUM = process.env.HCB_CHROMIUM ?? '/usr/bin/chromium';

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: run scripts/ensure-chromium.sh (installs Debian's chromium) before the tests`,
    );
  }
}

async function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'hcb-chromium-'));
  try {
    const { stdout } = await run(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe('HTML dashboard', () => {
  const html = renderHtml(FINDINGS, summarizeFindings(FINDINGS), META);
  let dir: string;
  let file: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hcb-html-'));
    file = path.join(dir, 'report.html');
    writeFileSync(file, html);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('matches the snapshot', () => {
    expect(html).toMatchSnapshot();
  });

  it('is one self-contained file: no external reference, content escaped', () => {
    expect(html).not.toMatch(/<[a-z][^>]*\s(src|href)=/i);
    expect(html).not.toMatch(/url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    expect(html).toContain('Pod team-b/&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<img');
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-[A-Za-z0-9+/=]+&#39;; script-src &#39;sha256-/,
    );
  });

  it('renders in Chromium: an SVG chart per framework, every finding a row, the filter works', async () => {
    requireChromium();
    const dom = await chromium(['--dump-dom', `file://${file}#status=fail`]);
    // The page's script ran (allowed by its CSP hash) and applied the filter from the address.
    expect(dom).toMatch(/<body data-filter="fail">/);
    const svgs = dom.match(/<svg id="coverage-[a-z]+" class="coverage"/g) ?? [];
    expect(svgs).toEqual(['stig', 'cis', 'bsi', 'ccn', 'scs'].map((fw) => `<svg id="coverage-${fw}" class="coverage"`));
    const rows = dom.match(/<tr data-status="[a-z-]+"[^>]*>/g) ?? [];
    expect(rows).toHaveLength(FINDINGS.length);
    const visible = rows.filter((r) => !/\shidden(=""|\s|>)/.test(r));
    expect(visible).toHaveLength(FINDINGS.filter((f) => f.status === 'fail').length);
    expect(visible.every((r) => r.startsWith('<tr data-status="fail"'))).toBe(true);
    expect(dom).toContain('<span id="shown">4</span>');
    expect(dom).toContain('data-filter="fail" aria-pressed="true"');
    // Bar segments carry the counts of the summary: STIG has 1 pass, 3 fail, 1 error.
    const stig = /<svg id="coverage-stig"[\s\S]*?<\/svg>/.exec(dom)?.[0] ?? '';
    expect([...stig.matchAll(/data-status="([a-z-]+)" data-count="(\d+)"/g)].map((m) => `${m[1]}=${m[2]}`)).toEqual([
      'pass=1',
      'fail=3',
      'error=1',
    ]);
    // Escaped input stays text: no element was created from it.
    expect(dom).not.toMatch(/<script>alert|<img src=x/);
  }, 120_000);

  it('shows all rows without a filter, and takes a screenshot', async () => {
    requireChromium();
    const dom = await chromium(['--dump-dom', `file://${file}`]);
    expect(dom).toMatch(/<body data-filter="all">/);
    expect(dom).toContain(`<span id="shown">${FINDINGS.length}</span>`);
    const png = path.join(dir, 'report.png');
    await chromium(['--window-size=1280,1400', `--screenshot=${png}`, `file://${file}`]);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(bytes.readUInt32BE(16)).toBe(1280); // width from the IHDR chunk
    if (process.env.HCB_KEEP_SCREENSHOT) writeFileSync(process.env.HCB_KEEP_SCREENSHOT, bytes);
  }, 120_000);
});
