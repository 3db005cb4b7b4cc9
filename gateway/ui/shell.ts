// The HTML shell of the dashboard: no data in it, only the script and style sheet under /ui/ and,
// for a page the user opened directly, the dashboard key (gateway/ui/key.ts) in a meta tag.

/** `key` is base64url (no character needs escaping in an attribute); it is checked anyway. */
export function shellHtml(key: string | undefined, version: string): string {
  if (key !== undefined && !/^[A-Za-z0-9_-]+$/.test(key)) throw new Error('dashboard key must be base64url');
  const v = encodeURIComponent(version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${key ? `<meta name="titan-dashboard-key" content="${key}">\n` : ''}<title>Titan Functions</title>
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
