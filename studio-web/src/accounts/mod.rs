//! The accounts repository: users with a role and a status (pending, active, disabled), and the
//! validated values an account is made of. Used by the auth pages, the admin pages, the API and
//! the `gala admin` command. SQL is written once for SQLite and PostgreSQL.

use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::Role;

mod values;
pub use values::{DisplayName, Email};

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Signed up, waiting for an admin's approval.
    Pending,
    Active,
    /// Turned off by an admin; its sessions are gone.
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "active" => Some(Status::Active),
            "disabled" => Some(Status::Disabled),
            _ => None,
        }
    }
}

/// A user as everyone but the password check sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: Status,
    /// Unix milliseconds.
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLUMNS: &str = "id, email, display_name, role, status, created_at";

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    let role: String = row.try_get("role")?;
    let status: String = row.try_get("status")?;
    Ok(Account {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).unwrap_or(Role::Creator),
        status: Status::parse(&status).unwrap_or(Status::Disabled),
        created_at: row.try_get("created_at")?,
    })
}

/// Creates an account. The email is unique regardless of case.
pub async fn create(
    db: &Db,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    role: Role,
    status: Status,
) -> Result<Account, AccountError> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO users (email, display_name, password_hash, role, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(email.as_str())
    .bind(name.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(status.as_str())
    .bind(now)
    .fetch_one(&db.pool)
    .await;
    match result {
        Ok(row) => Ok(Account {
            id: row.try_get("id")?,
            email: email.as_str().to_string(),
            display_name: name.as_str().to_string(),
            role,
            status,
            created_at: now,
        }),
        Err(e) if is_unique_violation(&e) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(account_from_row).transpose()
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<Account>, sqlx::Error> {
    Ok(find_for_login(db, email).await?.map(|(a, _)| a))
}

/// The account and its password hash, for the password check only.
pub async fn find_for_login(
    db: &Db,
    email: &Email,
) -> Result<Option<(Account, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((account_from_row(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

/// Every account, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Account>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(account_from_row).collect()
}

/// Sets the role; false when there is no such account.
pub async fn set_role(db: &Db, id: i64, role: Role) -> Result<bool, sqlx::Error> {
    update(db, id, "role", role.as_str()).await
}

/// Lets a pending (or disabled) account log in.
pub async fn approve(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    update(db, id, "status", Status::Active.as_str()).await
}

/// Turns an account off and ends its sessions.
pub async fn disable(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let found = update(db, id, "status", Status::Disabled.as_str()).await?;
    crate::auth::session::delete_for_user(db, id).await?;
    Ok(found)
}

/// Replaces the password hash and ends every session of the account.
pub async fn set_password_hash(db: &Db, id: i64, hash: &str) -> Result<bool, sqlx::Error> {
    let found = update(db, id, "password_hash", hash).await?;
    crate::auth::session::delete_for_user(db, id).await?;
    Ok(found)
}

/// Sets one column; `column` is one of ours, never user input.
async fn update(db: &Db, id: i64, column: &'static str, value: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE users SET {column} = $1, updated_at = $2 WHERE id = $3"
    ))
    .bind(value)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    async fn email_is_unique_regardless_of_case(db: Db) {
        let name = DisplayName::parse("Ann").unwrap();
        let a = create(
            &db,
            &email("Ann@Example.org"),
            &name,
            "h",
            Role::Creator,
            Status::Active,
        )
        .await
        .unwrap();
        assert_eq!(a.email, "ann@example.org");
        let again = create(
            &db,
            &email("ANN@example.ORG"),
            &name,
            "h",
            Role::Creator,
            Status::Active,
        )
        .await;
        assert!(matches!(again, Err(AccountError::EmailTaken)));
        assert!(set_role(&db, a.id, Role::Reviewer).await.unwrap());
        assert!(disable(&db, a.id).await.unwrap());
        let found = find_by_email(&db, &email("ann@EXAMPLE.org"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.role, found.status),
            (Role::Reviewer, Status::Disabled)
        );
        assert!(!approve(&db, 999).await.unwrap());
        assert_eq!(list(&db).await.unwrap().len(), 1);
    }

    gala_pipeline::both_backends!(email_is_unique_regardless_of_case);
}
