/**
 * Reading the project's Markdown the way GitHub renders it: the anchors its headings get and the
 * relative links its text makes, so tests can hold the README, the manual in docs/ and the alert
 * rules' runbook links to the headings that exist.
 */

/** Fenced code blocks hold examples, not headings or links (a `# comment` in a shell block is neither). */
const withoutFences = (markdown: string) => markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');

/**
 * GitHub's anchor for a heading: lower case, punctuation (backticks, colons, quotes, commas, …)
 * dropped, each space a hyphen.
 */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '').replaceAll(' ', '-');
}

/** Every anchor a document's headings give, a repeated one numbered as GitHub numbers it (`-1`, `-2`). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const anchor = anchorOf(heading!);
    const times = seen.get(anchor) ?? 0;
    seen.set(anchor, times + 1);
    anchors.add(times === 0 ? anchor : `${anchor}-${times}`);
  }
  return anchors;
}

/** A link that leads within the repository: the file it names (empty for the same document) and its anchor. */
export type RelativeLink = { target: string; file: string; anchor: string | undefined };

/**
 * Every relative link (inline, image or reference definition) outside code; links with a scheme
 * (`https:`, `mailto:`) and autolinks are left out.
 */
export function relativeLinksOf(markdown: string): RelativeLink[] {
  const text = withoutFences(markdown).replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...text.matchAll(/!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!),
    ...[...text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)>?/gm)].map((match) => match[1]!),
  ];
  return targets
    .filter((target) => !/^[a-z][a-z\d+.-]*:/i.test(target))
    .map((target) => {
      const hash = target.indexOf('#');
      const file = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      return { target, file, anchor: hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1)) };
    });
}
