//! Row types as read from the database. They never cross the wire: server
//! functions map them to DTOs, so internal columns (password hashes, session
//! data) cannot leak to the browser.

use crate::domain::run::{OrderState, RunStatus};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub email_normalized: String,
    pub password_hash: String,
    pub role: String,
    pub time_zone: String,
    pub terms_version: String,
    pub terms_accepted_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Sealed with the application key; never the secret itself.
    pub totp_secret_sealed: Option<String>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub totp_last_step: Option<i64>,
    pub notification_email: Option<String>,
    pub notify_on_fill: bool,
    pub notify_on_skip: bool,
    pub notify_security: bool,
    /// The tier last applied to the user's plans (billing).
    pub applied_tier: Option<String>,
    /// An administrator's tier override.
    pub tier_override: Option<String>,
    /// A notification address waiting for its owner's confirmation.
    pub pending_notification_email: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub subject_user_id: Option<i64>,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub environment: String,
    pub auth_kind: String,
    pub key_hint: Option<String>,
    /// Sealed with the application key; never the credentials themselves.
    pub credentials_sealed: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub user_id: i64,
    pub connection_id: Option<i64>,
    pub name: String,
    pub status: String,
    pub cadence: String,
    pub time_of_day: String,
    pub time_zone: String,
    pub start_date: chrono::NaiveDate,
    pub end_date: Option<chrono::NaiveDate>,
    pub max_total: Option<String>,
    pub mode: String,
    pub active_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// When the engine last worked out the plan runs next (None: not yet).
    pub next_slot_at: Option<DateTime<Utc>>,
    /// Missed-run policy: catch up within this many minutes of a run's time
    /// (None: any time in the same trading session).
    pub catch_up_minutes: Option<i64>,
    /// Paused because the user's tier no longer allows it; resumes when it does.
    pub paused_by_tier: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanLegRow {
    pub plan_id: i64,
    pub position: i64,
    pub symbol: String,
    pub amount: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlotRow {
    pub id: i64,
    pub plan_id: i64,
    pub scheduled_at: DateTime<Utc>,
    pub trading_date: chrono::NaiveDate,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlotOrderRow {
    pub id: i64,
    pub slot_id: i64,
    pub symbol: String,
    pub notional: String,
    pub client_order_id: String,
    pub broker_order_id: Option<String>,
    pub status: OrderState,
    pub filled_qty: String,
    pub filled_avg_price: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub plan_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A Stripe subscription as last fetched.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub user_id: i64,
    pub customer_id: String,
    pub status: String,
    pub price_id: Option<String>,
    pub tier: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    pub past_due_since: Option<DateTime<Utc>>,
    pub fetched_at: DateTime<Utc>,
}

/// A decimal stored as text (amounts, quantities, prices), parsed: a value
/// that does not parse is an error naming what it was, never zero.
pub fn stored_decimal(what: &str, text: &str) -> anyhow::Result<rust_decimal::Decimal> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("{what} is stored as {text:?}, which is not a decimal ({e})"))
}

/// A state column read into its domain enum: a stored name that is not a
/// known state fails the row (an error, never a default); written as its name.
macro_rules! state_column {
    ($t:ty) => {
        impl sqlx::Type<sqlx::Sqlite> for $t {
            fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
                <&str as sqlx::Type<sqlx::Sqlite>>::type_info()
            }
            fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
            }
        }
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for $t {
            fn decode(
                value: sqlx::sqlite::SqliteValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Sqlite>>::decode(value)?;
                Ok(<$t>::try_from(text)?)
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(<$t>::try_from(text)?)
            }
        }
        impl<'q> sqlx::Encode<'q, sqlx::Sqlite> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Sqlite as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Sqlite>>::encode(self.as_str(), buf)
            }
        }
        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}
state_column!(RunStatus);
state_column!(OrderState);
state_column!(crate::domain::recommendation::State);
state_column!(crate::domain::recommendation::Side);
state_column!(crate::domain::recommendation::Signal);
