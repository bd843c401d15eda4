/**
 * Generated parts of hand-written Markdown: the text between a start and an end marker (HTML
 * comments) is replaced by the generated content, the rest of the document kept as written.
 */
export function withGenerated(
  doc: string,
  name: string,
  start: string,
  end: string,
  content: string,
): string {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${name} lacks the markers ${start} … ${end}`);
  return `${doc.slice(0, from + start.length)}\n${content}\n${doc.slice(to)}`;
}
