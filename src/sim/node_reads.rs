//! The reads that name nodes: every check in a state (`health/state/<state>`), one node's
//! checks (`health/node/<node>`) and one node's services (`catalog/node-services/<node>`),
//! each blocking on the index of the table it reads, as Consul's do.

use super::catalog::{CheckStatus, State};
use super::handlers::{Ctx, Fail, Resp, Token, blocking_read, encode, fail, require};
use super::query::Query;
use super::wire::{CheckOut, NodeServicesOut};

/// `GET /v1/health/state/<any|passing|warning|critical>`: wakes on any check change.
pub(super) async fn health_state(
    ctx: &Ctx<'_>,
    q: &Query,
    t: &Token,
    state: String,
) -> Result<Resp, Fail> {
    let wanted = match state.as_str() {
        "any" => None,
        "passing" => Some(CheckStatus::Passing),
        "warning" => Some(CheckStatus::Warning),
        "critical" => Some(CheckStatus::Critical),
        _ => return Err(fail(400, format!("Invalid check status: {state:?}"))),
    };
    require(t, "node:read", "")?;
    let render = |st: &State, pretty: bool| {
        let checks: Vec<CheckOut<'_>> = st
            .nodes
            .values()
            .flat_map(|n| {
                n.checks.values().map(|check| CheckOut {
                    node: &n.def.name,
                    check,
                })
            })
            .filter(|c| wanted.is_none_or(|w| c.check.def.status == w))
            .collect();
        encode(&checks, pretty)
    };
    let index_of = |st: &State| st.checks_index;
    blocking_read(ctx, q, format!("state\u{0}{state}"), &index_of, &render).await
}

/// `GET /v1/health/node/<node>`: the node's checks, its own and its services'.
pub(super) async fn health_node(
    ctx: &Ctx<'_>,
    q: &Query,
    t: &Token,
    node: String,
) -> Result<Resp, Fail> {
    if node.is_empty() {
        return Err(fail(400, "Missing node name"));
    }
    require(t, "node:read", &node)?;
    let render = |st: &State, pretty: bool| {
        let checks: Vec<CheckOut<'_>> = st
            .nodes
            .get(&node)
            .map(|n| {
                n.checks
                    .values()
                    .map(|check| CheckOut {
                        node: &n.def.name,
                        check,
                    })
                    .collect()
            })
            .unwrap_or_default();
        encode(&checks, pretty)
    };
    let index_of = |st: &State| st.checks_index;
    blocking_read(
        ctx,
        q,
        format!("node-checks\u{0}{node}"),
        &index_of,
        &render,
    )
    .await
}

/// `GET /v1/catalog/node-services/<node>`: the node and every service on it, with tags
/// and meta; an unknown node is `{"Node":null,"Services":[]}`.
pub(super) async fn node_services(
    ctx: &Ctx<'_>,
    q: &Query,
    t: &Token,
    node: String,
) -> Result<Resp, Fail> {
    if node.is_empty() {
        return Err(fail(400, "Missing node name"));
    }
    require(t, "node:read", &node)?;
    let dc = ctx.dc;
    let render = |st: &State, pretty: bool| {
        encode(
            &NodeServicesOut {
                node: st.nodes.get(&node),
                dc,
            },
            pretty,
        )
    };
    // The answer holds the node too: it moves with either table, as Consul's does.
    let index_of = |st: &State| st.services_index.max(st.nodes_index);
    blocking_read(
        ctx,
        q,
        format!("node-services\u{0}{node}"),
        &index_of,
        &render,
    )
    .await
}
