/** Reading the IdP's metrics as Prometheus would: the text format, parsed into samples. */

export type Sample = { name: string; labels: Record<string, string>; value: number };

/** Every sample of a text-format exposition. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** A scrape of `url`: its samples, and the value of one series (0 when it has none yet). */
export async function scrape(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}`);
  const text = await response.text();
  const samples = parseExposition(text);
  return {
    text,
    contentType: response.headers.get('content-type'),
    samples,
    /** The sum of the series named `name` whose labels include `labels`. */
    value(name: string, labels: Record<string, string> = {}): number {
      return samples
        .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
        .reduce((sum, sample) => sum + sample.value, 0);
    },
    has: (name: string) => samples.some((sample) => sample.name === name),
  };
}

export type Scrape = Awaited<ReturnType<typeof scrape>>;
