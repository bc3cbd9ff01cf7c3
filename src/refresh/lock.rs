//! mvtop's per-MV refresh lock: a session-level advisory lock whose bigint key has
//! `ADVISORY_NAMESPACE` in its high half and the MV's oid in its low half. Everything that
//! takes it, releases it or looks for its holder builds its SQL here, so that the key's
//! layout has one owner (the job takes it; the scheduler's claim must not win while it is
//! held).

use tokio_postgres::Client;

/// Advisory-lock key space of mvtop's per-MV refresh lock: the high half of the bigint key
/// (pg_locks shows it as classid, the MV's oid as objid).
pub const ADVISORY_NAMESPACE: u32 = 0x6d76_746f; // "mvto"

/// The lock's key for the MV `oid`, as `pg_try_advisory_lock(bigint)` takes it.
pub fn advisory_key(oid: u32) -> i64 {
    (i64::from(ADVISORY_NAMESPACE) << 32) | i64::from(oid)
}

/// `ADVISORY_NAMESPACE` as the parameter that `held` compares `classid` with.
pub fn namespace_param() -> i64 {
    i64::from(ADVISORY_NAMESPACE)
}

/// `pg_try_advisory_lock` of the key bound as parameter `$n` (`advisory_key`): for a
/// statement that asks for the lock together with other facts, in one round trip.
pub fn try_lock(n: usize) -> String {
    format!("pg_try_advisory_lock(${n})")
}

/// A condition on the `pg_locks` row `l`: it is the refresh lock, granted, in this database,
/// of the MV whose oid is parameter `$oid`; parameter `$class` is `namespace_param()`. A
/// bigint key shows as classid (high half), objid (low half) and objsubid 1.
pub fn held(l: &str, class: usize, oid: usize) -> String {
    format!(
        "{l}.locktype = 'advisory' AND {l}.granted
        AND {l}.classid = ${class}::int8::oid AND {l}.objid = ${oid} AND {l}.objsubid = 1
        AND {l}.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
}

/// The pid holding the refresh lock of `oid`, if any can be seen.
pub async fn holder(client: &Client, oid: u32) -> Option<i32> {
    let sql = format!("SELECT pid FROM pg_locks l WHERE {}", held("l", 1, 2));
    client
        .query_opt(&sql, &[&namespace_param(), &oid])
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0))
}

/// Releases the refresh lock of `oid` this session holds; a session that is gone has
/// released it already, so errors are of no interest.
pub async fn release(client: &Client, oid: u32) {
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&advisory_key(oid)])
        .await;
}
