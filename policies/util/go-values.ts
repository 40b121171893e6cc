/**
 * Values spelled the way Go and the Kubernetes components parse them, so a check never reads a
 * spelling differently from the component it checks.
 */

/** strconv.ParseBool: exactly these spellings; anything else is an error in Go (undefined here). */
export function parseGoBool(v: string): boolean | undefined {
  switch (v) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/** Go's strconv underscoreOK: "_" only between digits, or right after a 0b/0o/0x prefix. */
function goUnderscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1])) {
    i = 2;
    saw = '0';
    hex = /[xX]/.test(s[1]);
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * strconv.ParseInt(s, 0, bits), which pflag uses for int flags: an optional sign, then decimal,
 * 0b/0o/0x prefixed, or leading-0 octal digits; "_" as a digit separator. Undefined when Go would
 * reject the string or the number does not fit in `bits`.
 */
export function parseGoInt(s: string, bits: 32 | 64 = 64): number | undefined {
  let body = s;
  let negative = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  if (body === '') return undefined;
  let base = 10;
  let digits = body;
  if (body[0] === '0') {
    if (body.length >= 3 && /[bB]/.test(body[1])) [base, digits] = [2, body.slice(2)];
    else if (body.length >= 3 && /[oO]/.test(body[1])) [base, digits] = [8, body.slice(2)];
    else if (body.length >= 3 && /[xX]/.test(body[1])) [base, digits] = [16, body.slice(2)];
    else [base, digits] = [8, body.slice(1)];
  }
  let n = 0;
  let underscores = false;
  for (const c of digits) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return undefined;
    n = n * base + d;
  }
  if (underscores && !goUnderscoreOK(s)) return undefined;
  const v = negative && n !== 0 ? -n : n;
  const limit = 2 ** (bits - 1);
  return v >= -limit && v < limit ? v : undefined;
}

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * time.ParseDuration in seconds: an optional sign, then one or more decimal numbers each with a
 * unit (ns, us, µs, ms, s, m, h), e.g. "300ms", "-1.5h", "2h45m"; "0" alone is zero. Undefined
 * when Go would reject the string.
 */
export function parseGoDuration(v: string): number | undefined {
  if (v === '0' || v === '+0' || v === '-0') return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(v);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  return m[1] === '-' ? -total : total;
}

/** A duration for messages: "5m0s"-like but short, e.g. 300 → "5m", 5400 → "1h30m". */
export function formatSeconds(s: number): string {
  if (s === 0) return '0s';
  const sign = s < 0 ? '-' : '';
  let rest = Math.abs(s);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Math.round(rest * 1000) / 1000;
  return `${sign}${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec || (!h && !m) ? `${sec}s` : ''}`;
}
