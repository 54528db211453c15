// Plain text tables for the operator commands: columns as wide as their widest cell, the last
// column cut to fit the terminal, so a list stays one line per row in an 80-column window.

export function renderTable(header: string[], rows: string[][], width = 0): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  if (width <= 0) return lines.join('\n');
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)).join('\n');
}
