// The rows of an answer: click a header to sort, export CSV, copy as TSV.
import { useMemo, useState } from 'react';
import { sortRows, toCsv, toTsv } from './table.js';

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Floats print with 12 significant digits (149987.67, not 149987.66999999998); the CSV
// and the copy keep the exact values.
function show(v) {
  if (v == null) return <span className="null">NULL</span>;
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Number(v.toPrecision(12)));
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export default function ResultsTable({ results }) {
  const { columns, rows, row_count: rowCount, truncated } = results;
  const [sort, setSort] = useState(null); // {index, ascending}
  const [copied, setCopied] = useState(false);
  const sorted = useMemo(() => (sort ? sortRows(rows, sort.index, sort.ascending) : rows), [rows, sort]);
  const onHeader = (index) =>
    setSort((s) => (s && s.index === index ? { index, ascending: !s.ascending } : { index, ascending: true }));
  const exportCsv = () =>
    download(`query_results_${new Date().toISOString().slice(0, 10)}.csv`, toCsv(columns, sorted), 'text/csv;charset=utf-8');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(toTsv(columns, sorted));
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="results">
      <div className="results-bar">
        <span className="badge" data-testid="row-count">
          {rowCount} row{rowCount === 1 ? '' : 's'}
          {truncated ? ' (truncated)' : ''}
        </span>
        <span className="spacer" />
        <button type="button" onClick={copy} disabled={!rows.length}>{copied ? 'Copied' : 'Copy'}</button>
        <button type="button" onClick={exportCsv} disabled={!rows.length} data-testid="export-csv">Export CSV</button>
      </div>
      <div className="table-wrap">
        <table data-testid="results-table">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={i} onClick={() => onHeader(i)} aria-sort={sort && sort.index === i ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
                  {c}
                  <span className="sort">{sort && sort.index === i ? (sort.ascending ? ' ▲' : ' ▼') : ''}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j} className={typeof v === 'number' ? 'num' : undefined}>{show(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
