// OpenMetrics timestamps are float seconds; the model holds milliseconds. Multiplying the parsed
// float by 1000 is not exact: `1.001` becomes 1000.9999999999999 (which Prometheus then truncates
// to 1000 ms). Moving the decimal point in the text instead gives the float nearest to the written
// decimal — exactly 1001 here — and exact round trips in the writer, which moves it back.

/** Milliseconds from a validated OpenMetrics timestamp text (a finite realnumber). -0 becomes 0. */
export function secondsTextToMs(text: string): number {
  let e = text.indexOf('e');
  if (e === -1) e = text.indexOf('E');
  let ms: number;
  if (e === -1) {
    ms = Number(`${text}e3`);
  } else {
    // Clamp so the exponent stays a plain integer; past ±100000 the result is 0 or ∞ either way.
    const exponent = Math.max(-100_000, Math.min(100_000, Number(text.slice(e + 1))));
    ms = Number(`${text.slice(0, e)}e${exponent + 3}`);
  }
  return ms === 0 ? 0 : ms;
}

/** Seconds text for a finite millisecond value, as short as the millisecond value's own shortest form. */
export function msToSecondsText(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`timestamp ${ms} is not finite`);
  if (ms === 0) return '0';
  const sign = ms < 0 ? '-' : '';
  const text = String(Math.abs(ms));
  // Decompose JS's shortest representation into significant digits and a decimal point position.
  const e = text.indexOf('e');
  const mantissa = e === -1 ? text : text.slice(0, e);
  const exponent = e === -1 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  let digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  let point = (dot === -1 ? mantissa.length : dot) + exponent - 3;
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead);
  point -= lead;
  let trail = digits.length;
  while (trail > 1 && digits.charCodeAt(trail - 1) === 0x30) trail--;
  digits = digits.slice(0, trail);
  if (point > 0 && point < digits.length) return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  if (point >= digits.length && point <= 21) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  if (point <= 0 && point > -7) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return `${sign}${digits[0] as string}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${point - 1}`;
}
