//! The join graph of a schema: declared foreign keys plus inferred ones, and the
//! shortest join paths between tables.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use super::TableInfo;
use talk2tables_common::DatabaseSchema;

/// One joinable pair of columns, `tables[a].a_col = tables[b].b_col`. Stored once per
/// direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    pub a: usize,
    pub a_col: String,
    pub b: usize,
    pub b_col: String,
    /// Lower is more trustworthy: 10 declared or from metadata, 11 `x_id` → key,
    /// 12 shared key-owner column, 16 shared id-like column.
    pub cost: u32,
}

/// One step of a join tree: join `table` on `table.col = other.other_col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinStep {
    pub table: usize,
    pub col: String,
    pub other: usize,
    pub other_col: String,
}

fn push_both(edges: &mut Vec<Edge>, a: usize, a_col: &str, b: usize, b_col: &str, cost: u32) {
    if a == b {
        return;
    }
    for (x, xc, y, yc) in [(a, a_col, b, b_col), (b, b_col, a, a_col)] {
        if !edges.iter().any(|e| e.a == x && e.b == y && e.a_col == xc && e.b_col == yc) {
            edges.push(Edge { a: x, a_col: xc.to_string(), b: y, b_col: yc.to_string(), cost });
        }
    }
}

/// Builds every edge: declared foreign keys; `x_id` → table `x`/`xs` key (or `id`);
/// a column named like a table's key (`aid` in `author`) shared with other tables; other
/// shared id-like columns (`…id`, `…_name`, `…_code`, `…_key`).
pub(crate) fn build_edges(
    schema: &DatabaseSchema,
    tables: &[TableInfo],
    extra: &[(String, String, String, String)],
) -> Vec<Edge> {
    let mut edges = Vec::new();
    let idx = |name: &str| schema.tables.iter().position(|t| t.name.eq_ignore_ascii_case(name));
    for (i, t) in schema.tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            if let (Some(j), Some(c), Some(rc)) =
                (idx(&fk.references_table), fk.columns.first(), fk.references_columns.first())
            {
                push_both(&mut edges, i, c, j, rc, 10);
            }
        }
    }
    for (ta, ca, tb, cb) in extra {
        if let (Some(a), Some(b)) = (idx(ta), idx(tb))
            && schema.tables[a].column(ca).is_some()
            && schema.tables[b].column(cb).is_some()
        {
            push_both(&mut edges, a, ca, b, cb, 10);
        }
    }
    for (i, t) in tables.iter().enumerate() {
        for c in &t.columns {
            let lower = c.name.to_lowercase();
            if let Some(stem) = lower.strip_suffix("_id") {
                for (j, u) in tables.iter().enumerate() {
                    if j == i {
                        continue;
                    }
                    let n = u.name.to_lowercase();
                    if n == stem || crate::resolve::text::singular(&n) == stem {
                        let target = u.key.clone().or_else(|| {
                            u.columns.iter().find(|k| k.name.eq_ignore_ascii_case("id")).map(|k| k.name.clone())
                        });
                        if let Some(k) = target {
                            push_both(&mut edges, i, &c.name, j, &k, 11);
                        }
                    }
                }
            }
        }
    }
    for (i, t) in tables.iter().enumerate() {
        for c in &t.columns {
            let lower = c.name.to_lowercase();
            let id_like = lower.ends_with("id") && lower.len() > 2
                || ["_name", "_code", "_key"].iter().any(|s| lower.ends_with(s));
            if !id_like {
                continue;
            }
            for (j, u) in tables.iter().enumerate().skip(i + 1) {
                if let Some(d) = u.columns.iter().find(|d| d.name.eq_ignore_ascii_case(&c.name)) {
                    let owner = t.key.as_deref() == Some(c.name.as_str()) || u.key.as_deref() == Some(d.name.as_str());
                    push_both(&mut edges, i, &c.name, j, &d.name, if owner { 12 } else { 16 });
                }
            }
        }
    }
    edges
}

/// Cheapest paths from `from` to every table (Dijkstra over edge costs, ties broken by
/// table index so results are deterministic): `prev[t] = (edge index)` for each reached
/// table.
fn shortest(edges: &[Edge], n: usize, from: usize) -> (Vec<Option<u32>>, Vec<Option<usize>>) {
    let mut dist = vec![None; n];
    let mut prev = vec![None; n];
    let mut heap = BinaryHeap::new();
    dist[from] = Some(0);
    heap.push(Reverse((0u32, from)));
    while let Some(Reverse((d, u))) = heap.pop() {
        if dist[u].is_some_and(|best| d > best) {
            continue;
        }
        for (ei, e) in edges.iter().enumerate().filter(|(_, e)| e.a == u) {
            let nd = d + e.cost;
            if dist[e.b].is_none_or(|best| nd < best) {
                dist[e.b] = Some(nd);
                prev[e.b] = Some(ei);
                heap.push(Reverse((nd, e.b)));
            }
        }
    }
    (dist, prev)
}

/// A join tree rooted at `base` reaching every table of `needed`: the union of the
/// cheapest paths, in the order tables are first reached. `None` when some table cannot
/// be reached.
pub(crate) fn join_tree(edges: &[Edge], n: usize, base: usize, needed: &BTreeSet<usize>) -> Option<Vec<JoinStep>> {
    let mut steps: Vec<JoinStep> = Vec::new();
    let mut in_tree: BTreeSet<usize> = BTreeSet::from([base]);
    for &target in needed {
        if in_tree.contains(&target) {
            continue;
        }
        // Cheapest path from any table already in the tree.
        let mut best: Option<(u32, usize, Vec<Option<usize>>)> = None;
        for &root in &in_tree {
            let (dist, prev) = shortest(edges, n, root);
            if let Some(d) = dist[target]
                && best.as_ref().is_none_or(|(bd, _, _)| d < *bd)
            {
                best = Some((d, root, prev));
            }
        }
        let (_, root, prev) = best?;
        let mut path = Vec::new();
        let mut cur = target;
        while cur != root {
            let e = &edges[prev[cur]?];
            path.push(e.clone());
            cur = e.a;
        }
        for e in path.into_iter().rev() {
            if in_tree.insert(e.b) {
                steps.push(JoinStep { table: e.b, col: e.b_col, other: e.a, other_col: e.a_col });
            }
        }
    }
    Some(steps)
}

/// Tables in order of join distance from `from` (itself first), for "the nearest table
/// with a date column".
pub(crate) fn by_distance(edges: &[Edge], n: usize, from: usize) -> Vec<usize> {
    let (dist, _) = shortest(edges, n, from);
    let mut reached: Vec<(u32, usize)> = dist.iter().enumerate().filter_map(|(i, d)| d.map(|d| (d, i))).collect();
    reached.sort();
    reached.into_iter().map(|(_, i)| i).collect()
}
