import { command, renderControls } from '../../../cli/commands/controls';

describe('hcb controls', () => {
  it('renders the coverage table in Markdown with every framework and no uncovered ID', () => {
    const md = renderControls('markdown');
    expect(md).toMatch(
      /^## Framework coverage\n\n\| Framework \| Requirements \| Automated \| Manual \| Organisational \| Not covered \|/,
    );
    expect(md).toMatch(/\| DISA Kubernetes STIG \(V1R11\) \| 91 \| \d+ \| \d+ \| \d+ \| 0 \|/);
    expect(md).toMatch(/\| BSI IT-Grundschutz APP\.4\.4 Kubernetes \(Edition 2023\) \| 21 \|/);
    expect(md).not.toMatch(/not covered\*\*/);
    expect(renderControls('markdown')).toBe(md); // deterministic
  });

  it('filters by framework and emits JSON without check functions', () => {
    const data = JSON.parse(renderControls('json', 'scs')) as {
      controls: Array<{ id: string; frameworks: Record<string, string[]> }>;
      coverage: Array<{ framework: string }>;
    };
    expect(data.coverage.map((c) => c.framework)).toEqual(['scs']);
    expect(data.controls.length).toBeGreaterThan(5);
    for (const c of data.controls) expect(c.frameworks.scs.length).toBeGreaterThan(0);
    expect(JSON.stringify(data)).not.toMatch(/"check"/);
  });

  it('rejects bad options with exit code 2', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await command.run(['--format', 'pdf'])).toBe(2);
      expect(await command.run(['--framework=nist'])).toBe(2);
      expect(await command.run(['--bogus'])).toBe(2);
    } finally {
      err.mockRestore();
    }
  });

  it('prints text by default', async () => {
    const chunks: string[] = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      expect(await command.run(['--framework', 'bsi'])).toBe(0);
    } finally {
      out.mockRestore();
    }
    expect(chunks.join('')).toMatch(/BSI IT-Grundschutz APP\.4\.4 Kubernetes \(Edition 2023\): 21 requirements/);
  });
});
