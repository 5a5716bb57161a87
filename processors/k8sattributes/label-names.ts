/** Makes a string a valid Prometheus label name: invalid characters → `_`, no leading digit. */
export function sanitizeLabelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** k8s-pv-disk-usage-exporter's rule: lower case, `[^_a-z0-9]` → `_`. */
export function legacyLabelSuffix(key: string): string {
  return key.toLowerCase().replace(/[^_a-z0-9]/g, '_');
}
