// Minimal types for parse-prometheus-text-format (the package ships none), only as the parser
// benchmark uses it: one function from a body to its families.
declare module 'parse-prometheus-text-format' {
  interface PrometheusTextFamily {
    name: string;
    help: string;
    type: string;
    metrics: Array<Record<string, unknown>>;
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusTextFamily[];
}
