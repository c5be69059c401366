//! The GraphQL console at `/graphiql` (embedded default only): a small page of our own instead
//! of GraphiQL, whose page loads React and GraphiQL from a third-party CDN. Everything here is
//! served from this origin, so the page works offline and under the strict
//! Content-Security-Policy every route carries (`script-src 'self'`: no inline script, the
//! script is [`SCRIPT`] at `/graphiql.js`).

/// `/graphiql`
pub const PAGE: &str = r#"<!doctype html><html lang="ko"><head><meta charset="utf-8">
<title>ERP 전자결재 GraphQL</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:grid;grid-template-rows:auto 1fr;height:100vh}
header{display:flex;gap:.6rem;align-items:center;padding:.5rem 1rem;border-bottom:1px solid #ddd;flex-wrap:wrap}
main{display:grid;grid-template-columns:1fr 1fr 18rem;gap:.5rem;padding:.5rem;min-height:0}
section{display:flex;flex-direction:column;min-height:0}
textarea,pre{font:13px/1.4 ui-monospace,monospace;border:1px solid #ccc;border-radius:4px;padding:.5rem;margin:0}
textarea{resize:none}#query{flex:3}#variables{flex:1;margin-top:.5rem}
pre{flex:1;overflow:auto;background:#f7f7f7;white-space:pre-wrap}
#schema{overflow:auto;font-size:13px}#schema code{cursor:pointer}#schema li{margin:.2rem 0}
input{flex:1;min-width:12rem}
</style></head>
<body>
<header><strong>ERP 전자결재 GraphQL</strong>
<select id="user"><option value="">demo user…</option></select>
<input id="token" placeholder="Bearer token (or pick a demo user)" autocomplete="off">
<button id="run" title="Ctrl+Enter">▶ Run</button></header>
<main>
<section><textarea id="query" spellcheck="false">{
  me { name }
}</textarea><textarea id="variables" spellcheck="false" placeholder="variables (JSON)"></textarea></section>
<section><pre id="result"></pre></section>
<section id="schema"><strong>Query fields</strong><ul id="fields"><li>loading…</li></ul></section>
</main>
<script src="/graphiql.js"></script>
</body></html>"#;

/// `/graphiql.js`
pub const SCRIPT: &str = r#"const $ = (id) => document.getElementById(id);
$('token').value = sessionStorage.getItem('erp.token') || '';
$('token').addEventListener('change', () => sessionStorage.setItem('erp.token', $('token').value.trim()));

async function graphql(query, variables) {
  const headers = { 'content-type': 'application/json' };
  const token = $('token').value.trim();
  if (token) headers.authorization = 'Bearer ' + token;
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

async function run() {
  let variables = null;
  try {
    variables = $('variables').value.trim() ? JSON.parse($('variables').value) : null;
  } catch (e) {
    $('result').textContent = 'variables are not JSON: ' + e.message;
    return;
  }
  $('result').textContent = '…';
  try {
    $('result').textContent = JSON.stringify(await graphql($('query').value, variables), null, 2);
  } catch (e) {
    $('result').textContent = String(e);
  }
}

$('run').addEventListener('click', run);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run();
});

fetch('/auth/dev-users').then((r) => (r.ok ? r.json() : [])).then((users) => {
  for (const u of users) {
    const option = document.createElement('option');
    option.value = u.id;
    option.textContent = `${u.name} (${u.department ?? '-'})`;
    $('user').append(option);
  }
}).catch(() => {});
$('user').addEventListener('change', async () => {
  if (!$('user').value) return;
  const r = await fetch('/auth/dev-login', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ employee_id: $('user').value }),
  });
  const body = await r.json();
  if (body.token) {
    $('token').value = body.token;
    sessionStorage.setItem('erp.token', body.token);
  }
});

const typeName = (t) => (t.kind === 'NON_NULL' ? typeName(t.ofType) + '!' : t.kind === 'LIST' ? '[' + typeName(t.ofType) + ']' : t.name);
graphql('{ __schema { queryType { fields { name description args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }')
  .then((answer) => {
    const list = $('fields');
    list.textContent = '';
    for (const f of answer.data?.__schema?.queryType?.fields ?? []) {
      const item = document.createElement('li');
      const code = document.createElement('code');
      const args = f.args.map((a) => `${a.name}: ${typeName(a.type)}`).join(', ');
      code.textContent = `${f.name}${args ? '(' + args + ')' : ''}: ${typeName(f.type)}`;
      code.title = f.description ?? '';
      code.addEventListener('click', () => { $('query').value = `{\n  ${f.name}\n}`; });
      item.append(code);
      list.append(item);
    }
  })
  .catch(() => { $('fields').textContent = 'introspection unavailable'; });
"#;
