// Minimal SQL syntax highlighting: keywords, functions, strings, numbers, comments.

const KEYWORDS = new Set(
  ('select from where and or not in is null as join left right inner outer full cross on group by order ' +
    'having limit offset distinct union all with case when then else end asc desc between like ilike exists ' +
    'count sum avg min max cast interval true false over partition')
    .split(' '),
);

const TOKEN = /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*')|("(?:[^"]|"")*"|`[^`]*`)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)(?=\s*\()|([A-Za-z_][A-Za-z0-9_]*)|(\s+|.)/g;

/** Splits `sql` into [{text, kind}] with kind in keyword|function|string|ident|number|comment|plain. */
export function tokenize(sql) {
  const out = [];
  for (const m of sql.matchAll(TOKEN)) {
    const [text, comment, str, quoted, num, fn, word] = m;
    let kind = 'plain';
    if (comment) kind = 'comment';
    else if (str) kind = 'string';
    else if (quoted) kind = 'ident';
    else if (num) kind = 'number';
    else if (fn) kind = KEYWORDS.has(fn.toLowerCase()) ? 'keyword' : 'function';
    else if (word && KEYWORDS.has(word.toLowerCase())) kind = 'keyword';
    out.push({ text, kind });
  }
  return out;
}

/** A <pre> with the highlighted SQL. */
export function SqlBlock({ sql, testId }) {
  return (
    <pre className="sql" data-testid={testId}>
      <code>
        {tokenize(sql).map((t, i) =>
          t.kind === 'plain' ? t.text : <span key={i} className={`tok-${t.kind}`}>{t.text}</span>,
        )}
      </code>
    </pre>
  );
}
