// Reading a /metrics answer in tests: the Prometheus text format parsed by a library, samples
// looked up by name and labels.
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';

export function metricFamilies(text: string): Map<string, PromFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

/** The samples of a family whose labels include `labels`; [] when the family is missing. */
export function samples(text: string, name: string, labels: Record<string, string> = {}) {
  const family = metricFamilies(text).get(name);
  return (family?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** The one value of a gauge or counter with these labels; throws when there is not exactly one. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = samples(text, name, labels);
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  }
  return Number(found[0]!.value);
}
