// A page with a form that posts back to itself: GET shows the form, POST (a urlencoded form body)
// greets whoever was named and shows the form again. The form has no `action`, so the browser posts
// to the page's own URL: same origin, which the gateway's browser rules let in.
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(greeting) {
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Say hello</title>
<h1>Say hello</h1>
${greeting ? `<p id="greeting">Hello, ${escapeHtml(greeting)}!</p>` : ''}
<form method="post">
  <label>Name <input name="name" autocomplete="off"></label>
  <button>Send</button>
</form>
</html>
`;
}

export default async function handler(event) {
  let name = '';
  if (event.method === 'POST') {
    const form = new URLSearchParams(
      Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8'),
    );
    name = (form.get('name') ?? '').trim().slice(0, 100);
  }
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // The page needs nothing from anywhere: no scripts at all, and forms post only to this origin.
      'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
      'cache-control': 'no-store',
    },
    body: page(name),
  };
}
