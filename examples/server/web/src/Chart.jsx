// A bar chart (label + number) or line chart (date + number) in plain SVG.

const W = 640;
const H = 260;
const PAD = { left: 64, right: 16, top: 16, bottom: 64 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

const fmt = (v) => (Math.abs(v) >= 1000 ? v.toLocaleString(undefined, { maximumFractionDigits: 0 }) : +v.toFixed(2));

export default function Chart({ spec, columns }) {
  const { points, kind } = spec;
  const min = Math.min(0, ...points.map((p) => p.value));
  const max = niceMax(Math.max(...points.map((p) => p.value)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + ih - ((v - min) / (max - min || 1)) * ih;
  const step = iw / points.length;
  const x = (i) => PAD.left + step * i + step / 2;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + (max - min) * f);
  const labelEvery = Math.ceil(points.length / 16);
  const title = `${columns[spec.valueIndex]} by ${columns[spec.labelIndex]}`;
  return (
    <figure className="chart" data-testid="chart" data-kind={kind}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${kind} chart of ${title}`}>
        {ticks.map((t, i) => (
          <g key={i}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
            <text className="axis" x={PAD.left - 6} y={y(t) + 4} textAnchor="end">{fmt(t)}</text>
          </g>
        ))}
        {kind === 'bar' &&
          points.map((p, i) => (
            <rect key={i} className="bar" x={x(i) - step * 0.35} width={step * 0.7} y={Math.min(y(p.value), y(0))}
              height={Math.abs(y(0) - y(p.value))}>
              <title>{`${p.label}: ${p.value}`}</title>
            </rect>
          ))}
        {kind === 'line' && (
          <>
            <polyline className="line" points={points.map((p, i) => `${x(i)},${y(p.value)}`).join(' ')} />
            {points.map((p, i) => (
              <circle key={i} className="dot" cx={x(i)} cy={y(p.value)} r="3">
                <title>{`${p.label}: ${p.value}`}</title>
              </circle>
            ))}
          </>
        )}
        {points.map((p, i) =>
          i % labelEvery === 0 ? (
            <text key={i} className="axis" transform={`translate(${x(i)},${H - PAD.bottom + 12}) rotate(35)`}>
              {p.label.length > 14 ? p.label.slice(0, 13) + '…' : p.label}
            </text>
          ) : null,
        )}
      </svg>
    </figure>
  );
}
