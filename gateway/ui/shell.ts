// The HTML shell of the dashboard: no data in it, only the script and style sheet under /ui/ and,
// for a page the user opened directly, the dashboard key and token seal (gateway/ui/key.ts) in meta tags.

/** `keys` are base64url (no character needs escaping in an attribute); they are checked anyway. */
export function shellHtml(
  keys: { key: string; seal: string } | undefined,
  version: string,
): string {
  if (keys && !Object.values(keys).every((k) => /^[A-Za-z0-9_-]+$/.test(k)))
    throw new Error('dashboard keys must be base64url');
  const v = encodeURIComponent(version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${keys ? `<meta name="titan-dashboard-key" content="${keys.key}">\n<meta name="titan-dashboard-seal" content="${keys.seal}">\n` : ''}<title>Titan Functions</title>
<link rel="stylesheet" href="/ui/app.css?v=${v}">
<script defer src="/ui/app.js?v=${v}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><h1>Titan Functions</h1><nav aria-label="Sections" id="nav"></nav><div id="whoami"></div></header>
<main id="main" tabindex="-1"><p>Loading…</p><noscript>The dashboard needs JavaScript.</noscript></main>
<div id="status" role="status" aria-live="polite" class="sr-status"></div>
</body>
</html>
`;
}
