//! One component per route.

mod account;
mod admin;
mod auth;
mod backtest;
mod billing;
mod brokerage;
mod dashboard;
mod landing;
mod login_code;
mod not_found;
mod notifications;
mod plan_wizard;
mod plans;
mod pricing;
mod robustness;
mod security;
mod settings;
mod terms;

pub use account::AccountPage;
pub use admin::{AdminAuditPage, AdminUsersPage};
pub use auth::{LogInPage, SignUpPage};
pub use backtest::BacktestPage;
pub use billing::{BillingPage, BillingSuccessPage};
pub use brokerage::BrokeragePage;
pub use dashboard::DashboardPage;
pub use landing::LandingPage;
pub use login_code::LoginCodePage;
pub use not_found::NotFoundPage;
pub use notifications::NotificationsPage;
pub use plan_wizard::{PlanEditPage, PlanWizardPage};
pub use plans::{HistoryPage, PlanDetailPage, PlansPage};
pub use pricing::PricingPage;
pub use security::SecurityPage;
pub use settings::SettingsPage;
pub use terms::TermsPage;
