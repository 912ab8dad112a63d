// The chat page: question box, progress while the answer streams, then the SQL, the
// resolved entities, the recovery trail, the rows and a chart.
import { useEffect, useRef, useState } from 'react';
import { askStreaming, fetchHealth } from './api.js';
import { SqlBlock } from './sql.jsx';
import ResultsTable from './ResultsTable.jsx';
import Chart from './Chart.jsx';
import { chartSpec } from './table.js';

const EXAMPLES = [
  'How many orders were cancelled?',
  'Total sales by category',
  'Revenue by month',
  'Top 5 products by sales',
  'Total sales for abracadabra',
];

function useTheme() {
  const [theme, setTheme] = useState(
    () => localStorage.getItem('theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('theme', theme);
  }, [theme]);
  return [theme, () => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))];
}

function useHealth() {
  const [health, setHealth] = useState({ status: 'checking' });
  useEffect(() => {
    let live = true;
    const poll = () =>
      fetchHealth()
        .then((h) => live && setHealth(h))
        .catch(() => live && setHealth({ status: 'offline' }));
    poll();
    const timer = setInterval(poll, 15000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return health;
}

function Connection({ health }) {
  const services = health.services ? Object.entries(health.services) : [];
  const title = services.map(([id, s]) => `${id}: ${s.status}`).join('\n') || health.status;
  return (
    <span className={`conn conn-${health.status}`} title={title} data-testid="connection">
      <span className="dot" /> {health.status}
    </span>
  );
}

const STAGES = ['gathering', 'resolving', 'generating', 'validating', 'executing', 'recovering'];

function Progress({ events }) {
  const byStage = new Map();
  for (const e of events) byStage.set(e.stage, e);
  const stages = STAGES.filter((s) => byStage.has(s));
  return (
    <ol className="progress" data-testid="progress">
      {stages.map((s) => {
        const e = byStage.get(s);
        return (
          <li key={s} className={`stage stage-${e.status}`}>
            {s}
            {e.duration_ms != null ? ` · ${e.duration_ms.toFixed(1)} ms` : ''}
            {e.detail ? ` · ${e.detail}` : ''}
          </li>
        );
      })}
    </ol>
  );
}

function Trail({ attempts }) {
  if (!attempts || !attempts.length) return null;
  return (
    <details className="trail" data-testid="recovery-trail" open>
      <summary>Recovery: {attempts.length} failed attempt{attempts.length === 1 ? '' : 's'} before this answer</summary>
      {attempts.map((a, i) => (
        <div key={i} className="attempt">
          <div className="attempt-error">
            <strong>{a.error_category}</strong> {a.error}
          </div>
          <SqlBlock sql={a.sql} />
        </div>
      ))}
    </details>
  );
}

function Answer({ turn }) {
  const { response, progress, failure } = turn;
  if (failure) return <div className="error" data-testid="error">Could not reach the server: {failure}</div>;
  if (!response) return <Progress events={progress} />;
  if (!response.success) {
    const err = response.error || {};
    return (
      <div>
        <div className="error" data-testid="error">
          <strong>{err.code}</strong> {err.message}
        </div>
        <Trail attempts={err.attempted_sql} />
      </div>
    );
  }
  const data = response.data;
  const spec = chartSpec(data.results.columns, data.results.rows);
  return (
    <div className="answer">
      <Progress events={progress} />
      <div className="sql-head">
        <span>SQL · {data.metadata.generator} · {data.metadata.dialect} · {response.metadata.mode}</span>
        <button type="button" onClick={() => navigator.clipboard?.writeText(data.sql_query)}>Copy SQL</button>
      </div>
      <SqlBlock sql={data.sql_query} testId="sql" />
      {data.resolved_entities.length > 0 && (
        <ul className="entities" data-testid="entities">
          {data.resolved_entities.map((e, i) => (
            <li key={i} title={`from ${e.source}`}>
              <span className="term">{e.original_term}</span> → <span className="value">{e.resolved_value}</span>
              <span className="etype">{e.entity_type}</span>
            </li>
          ))}
        </ul>
      )}
      <Trail attempts={data.metadata.attempted_sql} />
      {data.explanation && <p className="explanation">{data.explanation}</p>}
      {spec && <Chart spec={spec} columns={data.results.columns} />}
      <ResultsTable results={data.results} />
    </div>
  );
}

export default function App() {
  const [theme, toggleTheme] = useTheme();
  const health = useHealth();
  const [turns, setTurns] = useState([]);
  const [question, setQuestion] = useState('');
  const [busy, setBusy] = useState(false);
  const bottom = useRef(null);

  useEffect(() => {
    // Braces matter: newer browsers return a promise from scrollIntoView, and React
    // would take a returned value for a cleanup function.
    bottom.current?.scrollIntoView?.({ behavior: 'smooth', block: 'end' });
  }, [turns]);

  const update = (id, patch) => setTurns((ts) => ts.map((t) => (t.id === id ? { ...t, ...patch(t) } : t)));

  async function ask(text) {
    const query = text.trim();
    if (!query || busy) return;
    const previous = turns.map((t) => t.question);
    const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
    setTurns((ts) => [...ts, { id, question: query, progress: [], response: null }]);
    setQuestion('');
    setBusy(true);
    try {
      const body = { query, ...(previous.length ? { context: { previous_questions: previous } } : {}) };
      const response = await askStreaming(body, (p) => update(id, (t) => ({ progress: [...t.progress, p] })));
      update(id, () => ({ response }));
    } catch (e) {
      update(id, () => ({ failure: String(e.message || e) }));
    } finally {
      setBusy(false);
    }
  }

  const onKey = (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      ask(question);
    } else if (e.key === 'Escape') setQuestion('');
  };

  return (
    <div className="app">
      <header>
        <h1>Talk 2 Tables</h1>
        <span className="spacer" />
        <Connection health={health} />
        <button type="button" onClick={() => setTurns([])} disabled={busy || !turns.length}>New conversation</button>
        <button type="button" onClick={toggleTheme} data-testid="theme-toggle" aria-label="Toggle theme">
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      <main>
        {turns.length === 0 && (
          <p className="hint">Ask your database a question in plain language (or type one SQL query).</p>
        )}
        {turns.map((t) => (
          <section key={t.id} className="turn" data-testid="turn">
            <div className="question">{t.question}</div>
            <Answer turn={t} />
          </section>
        ))}
        <div ref={bottom} />
      </main>
      <footer>
        <div className="examples">
          {EXAMPLES.map((q) => (
            <button key={q} type="button" className="example" onClick={() => ask(q)} disabled={busy}>{q}</button>
          ))}
        </div>
        <form className="ask" onSubmit={(e) => { e.preventDefault(); ask(question); }}>
          <textarea value={question} onChange={(e) => setQuestion(e.target.value)} onKeyDown={onKey} rows={2}
            maxLength={10000} placeholder="Ask about your database or type SQL…  (Enter sends, Shift+Enter new line)"
            data-testid="question" />
          <button type="submit" disabled={busy || !question.trim()} data-testid="send">{busy ? 'Working…' : 'Ask'}</button>
        </form>
      </footer>
    </div>
  );
}
