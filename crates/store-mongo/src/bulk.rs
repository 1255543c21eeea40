//! Many writes in one round trip: raw `insert`, `update` and `delete` commands, unordered, with the
//! per-statement errors mapped to the port's meanings, and the database's write concern.

use super::errors::{to_store_error, TRANSIENT_CODES};
use domain::ports::StoreError;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

/// Statements per command; far below the server's 100,000 and 16 MiB limits.
const CHUNK: usize = 1000;
/// How often upserts that lost an insert race are sent again.
const UPSERT_RACE_RETRIES: usize = 5;

/// Why one statement failed.
#[derive(Debug)]
pub(super) struct StatementError {
    pub index: usize,
    pub code: i32,
    pub message: String,
}

/// Runs `command` over `statements` in chunks; returns the failed statements by index and
/// the total of the replies' `n` (documents inserted, or matched by updates).
async fn run(
    db: &Database,
    command: &str,
    collection: &str,
    field: &str,
    statements: Vec<Document>,
) -> Result<(Vec<StatementError>, i64), StoreError> {
    let concern = write_concern(db)?;
    let mut failed = Vec::new();
    let mut n = 0;
    let mut offset = 0;
    let mut statements = statements.into_iter().peekable();
    while statements.peek().is_some() {
        let chunk: Vec<Document> = statements.by_ref().take(CHUNK).collect();
        let len = chunk.len();
        let mut body = doc! { command: collection, field: chunk, "ordered": false };
        if let Some(concern) = &concern {
            body.insert("writeConcern", concern.clone());
        }
        let reply = db.run_command(body).await.map_err(to_store_error)?;
        n += super::documents::int(&reply, "n").unwrap_or(0);
        if let Ok(errors) = reply.get_array("writeErrors") {
            for e in errors.iter().filter_map(Bson::as_document) {
                failed.push(StatementError {
                    index: offset + e.get_i32("index").unwrap_or(0) as usize,
                    code: e.get_i32("code").unwrap_or(0),
                    message: e.get_str("errmsg").unwrap_or("").to_string(),
                });
            }
        }
        if let Ok(wce) = reply.get_document("writeConcernError") {
            return Err(StoreError::Unavailable(format!("write concern: {wce}").into()));
        }
        offset += len;
    }
    Ok((failed, n))
}

/// The database's write concern (the client's: majority and journaled unless the URI set
/// its own) as a command field. A raw command does not inherit it, so without this field
/// the server's default would apply, and an acked batch could be lost on failover.
fn write_concern(db: &Database) -> Result<Option<Document>, StoreError> {
    let Some(concern) = db.write_concern() else {
        return Ok(None);
    };
    let field = mongodb::bson::to_document(concern)
        .map_err(|e| StoreError::Rejected(format!("write concern {concern:?}: {e}").into()))?;
    Ok((!field.is_empty()).then_some(field))
}

/// Inserts documents; returns the indexes that already existed (E11000). Any other
/// failure is an error.
pub(super) async fn insert(db: &Database, collection: &str, docs: Vec<Document>) -> Result<Vec<usize>, StoreError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let (failed, _) = run(db, "insert", collection, "documents", docs).await?;
    let (duplicates, others): (Vec<_>, Vec<_>) = failed.into_iter().partition(|e| e.code == 11000);
    check(others)?;
    Ok(duplicates.into_iter().map(|e| e.index).collect())
}

/// Applies `(filter, update)` statements, none of which may fail; returns how many
/// documents the filters matched.
pub(super) async fn update(
    db: &Database,
    collection: &str,
    updates: Vec<(Document, Document)>,
) -> Result<i64, StoreError> {
    if updates.is_empty() {
        return Ok(0);
    }
    let statements = updates
        .into_iter()
        .map(|(q, u)| doc! { "q": q, "u": u, "upsert": false, "multi": false })
        .collect();
    let (failed, matched) = run(db, "update", collection, "updates", statements).await?;
    check(failed)?;
    Ok(matched)
}

fn check(errors: Vec<StatementError>) -> Result<(), StoreError> {
    let Some(first) = errors.first() else { return Ok(()) };
    let text = format!(
        "{} statement(s) failed, first #{} code {}: {}",
        errors.len(),
        first.index,
        first.code,
        first.message
    );
    if errors.iter().all(|e| TRANSIENT_CODES.contains(&e.code)) {
        Err(StoreError::Unavailable(text.into()))
    } else {
        Err(StoreError::Rejected(text.into()))
    }
}

/// Deletes at most one document per filter, none of which may fail; returns how many went.
pub(super) async fn delete(db: &Database, collection: &str, filters: Vec<Document>) -> Result<u64, StoreError> {
    if filters.is_empty() {
        return Ok(0);
    }
    let statements = filters.into_iter().map(|q| doc! { "q": q, "limit": 1 }).collect();
    let (failed, deleted) = run(db, "delete", collection, "deletes", statements).await?;
    check(failed)?;
    Ok(deleted.max(0) as u64)
}

/// Applies `(filter, update)` statements as upserts on `_id` filters. Two writers upserting
/// one new `_id` at once may see one of them fail with E11000; those statements are sent
/// again, when the document exists and they update it.
pub(super) async fn upsert(
    db: &Database,
    collection: &str,
    upserts: Vec<(Document, Document)>,
) -> Result<(), StoreError> {
    let mut pending = upserts;
    for _ in 0..UPSERT_RACE_RETRIES {
        if pending.is_empty() {
            return Ok(());
        }
        let statements = pending
            .iter()
            .map(|(q, u)| doc! { "q": q, "u": u, "upsert": true, "multi": false })
            .collect();
        let (failed, _) = run(db, "update", collection, "updates", statements).await?;
        let (duplicates, others): (Vec<_>, Vec<_>) = failed.into_iter().partition(|e| e.code == 11000);
        check(others)?;
        let lost: std::collections::HashSet<usize> = duplicates.into_iter().map(|e| e.index).collect();
        pending = pending
            .into_iter()
            .enumerate()
            .filter_map(|(i, statement)| lost.contains(&i).then_some(statement))
            .collect();
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(StoreError::Unavailable(
        format!("{} upserts kept losing insert races", pending.len()).into(),
    ))
}
