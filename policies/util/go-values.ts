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

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

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
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_SECONDS[part[2]];
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
